package dev.serveml.inference;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;
import dev.serveml.tensor.TensorJson;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The request shapes of the native predict API, bound to a model's inputs:
 * <ul>
 * <li>{@code {"features": [..]}}: one row for a single-input model;</li>
 * <li>{@code {"instances": [[..], ..]}}: rows for a single-input model;</li>
 * <li>{@code {"inputs": {"X": [[..]]}}}: named tensors, shapes from the nesting
 *     ({@code {"inputs": [[..]]}} is accepted for a single-input model);</li>
 * <li>{@code {"data": {"a": 1.0, ..}}}: one row of named values, one per input.</li>
 * </ul>
 * Rows in answer with per-row {@code predictions}; named tensors with named {@code outputs}.
 * Hugging Face's shape, {@code {"inputs": "I loved it", "parameters": {"top_k": 2}}} (or a list of
 * texts), is the last one for a text model; its {@code parameters} go to the model, and
 * {@link #texts()} tells the answer to take Hugging Face's shape too. A list of chat messages,
 * {@code {"inputs": [{"role": "user", "content": "Hi"}]}}, is one text, the conversation as JSON,
 * with the generator's parameter {@code chat} true (unless the request set it). {@code "stream": true}
 * asks a text-generation model for its tokens as Server-Sent Events ({@link #stream()}).
 */
public final class NativeRequest {
    /** How the answer is laid out, mirroring the request. */
    public enum Style { ROWS, TENSORS }

    /** Whether {@code inputs} was Hugging Face's one text or list of texts, which decides its answer's shape. */
    public enum Texts { NONE, ONE, LIST }

    private static final List<String> KEYS = List.of("features", "instances", "inputs", "data");
    /** text-embeddings-inference's rerank fields, and the pair inputs a text model names them by. */
    private static final Map<String, String> ALIASES = Map.of("query", "text", "texts", "text_pair");
    /** The most strings one list parameter may hold: candidate labels or targets, never a data set. */

    /** The fields a chat message may have: Hugging Face's (and OpenAI's) role and content, and a name. */
    private static final Set<String> MESSAGE_FIELDS = Set.of("role", "content", "name");

    private final JsonNode body;
    private final String key;
    private final Parameters parameters;
    private final boolean stream;

    private NativeRequest(JsonNode body, String key, Parameters parameters, boolean stream) {
        this.body = body;
        this.key = key;
        this.parameters = parameters;
        this.stream = stream;
    }

    /** Checks the envelope; element types and shapes are checked by {@link #bind}. */
    public static NativeRequest of(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new ProblemException(ProblemType.INVALID_REQUEST,
                    "the body must be a JSON object such as {\"features\": [5.1, 3.5, 1.4, 0.2]}");
        }
        String found = null;
        for (String k : KEYS) {
            if (body.has(k)) {
                if (found != null) {
                    throw new ProblemException(ProblemType.INVALID_REQUEST, "send only one of "
                            + String.join(", ", KEYS) + "; got both '" + found + "' and '" + k + "'");
                }
                found = k;
            }
        }
        if (found == null) {
            throw new ProblemException(ProblemType.INVALID_REQUEST, "the body needs one of: \"features\" (one row), "
                    + "\"instances\" (rows), \"inputs\" (named tensors) or \"data\" (named values)");
        }
        JsonNode streamNode = body.get("stream");
        if (streamNode != null && !streamNode.isBoolean() && !streamNode.isNull()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/stream", "'stream' must be true or false");
        }
        Parameters parameters = Parameters.fromJson(body.get("parameters"), Set.of());
        if (found.equals("inputs") && isConversation(body.get("inputs"))) {
            // The conversation goes to the generator as one text, the chat template renders it.
            com.fasterxml.jackson.databind.node.ObjectNode rewritten = JsonNodeFactory.instance.objectNode();
            rewritten.put("inputs", body.get("inputs").toString());
            Map<String, Object> values = new LinkedHashMap<>(parameters.values());
            values.putIfAbsent("chat", Boolean.TRUE);
            return new NativeRequest(rewritten, found, new Parameters(values), streamNode != null && streamNode.asBoolean());
        }
        return new NativeRequest(body, found, parameters, streamNode != null && streamNode.asBoolean());
    }

    /** Hugging Face's chat messages: a non-empty list of {role, content} objects, strings both. */
    private static boolean isConversation(JsonNode value) {
        if (!value.isArray() || value.isEmpty()) {
            return false;
        }
        for (JsonNode m : value) {
            if (!m.isObject() || !(m.get("role") instanceof JsonNode role && role.isTextual())
                    || !(m.get("content") instanceof JsonNode content && content.isTextual())) {
                return false;
            }
            for (Iterator<String> names = m.fieldNames(); names.hasNext(); ) {
                if (!MESSAGE_FIELDS.contains(names.next())) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether the request asked for its tokens as they come ({@code "stream": true}). */
    public boolean stream() {
        return stream;
    }

    private static String pointerToken(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }

    /** What the request asks of the model besides its inputs; none unless it sent {@code parameters}. */
    public Parameters parameters() {
        return parameters;
    }

    /**
     * {@link Texts#ONE} for {@code {"inputs": "a text"}} or one object of texts
     * ({@code {"question": q, "context": c}}); {@link Texts#LIST} for a non-empty list of texts or of
     * such objects, or an object holding a list of texts (TEI's {@code {"query": q, "texts": [..]}}).
     */
    public Texts texts() {
        JsonNode value = body.get(key);
        if (!key.equals("inputs")) {
            return Texts.NONE;
        }
        if (value.isTextual()) {
            return Texts.ONE;
        }
        if (value.isObject()) {
            boolean list = false;
            for (JsonNode field : value) {
                if (field.isArray() && allTexts(field)) {
                    list = true;
                } else if (!field.isTextual()) {
                    return Texts.NONE;
                }
            }
            return value.isEmpty() ? Texts.NONE : list ? Texts.LIST : Texts.ONE;
        }
        if (!value.isArray() || value.isEmpty()) {
            return Texts.NONE;
        }
        for (JsonNode element : value) {
            if (!element.isTextual() && !(element.isObject() && !element.isEmpty() && allTexts(element))) {
                return Texts.NONE;
            }
        }
        return Texts.LIST;
    }

    private static boolean allTexts(JsonNode container) {
        for (JsonNode element : container) {
            if (!element.isTextual()) {
                return false;
            }
        }
        return !container.isEmpty();
    }

    public Style style() {
        return key.equals("inputs") ? Style.TENSORS : Style.ROWS;
    }

    /** Turns the request into input tensors of the signature's element types. */
    public List<Tensor> bind(Signature signature) {
        JsonNode value = body.get(key);
        String pointer = "/" + key;
        return switch (key) {
            case "features" -> {
                TensorSpec spec = single(signature);
                Tensor row = TensorJson.decode(spec.name(), spec.datatype(), null, value, pointer);
                yield List.of(spec.shape().size() == row.shape().length ? row : withLeadingOne(row));
            }
            case "instances" -> {
                TensorSpec spec = single(signature);
                yield List.of(TensorJson.decode(spec.name(), spec.datatype(), null, value, pointer));
            }
            case "inputs" -> value.isObject() ? named(signature, fields(signature, value), pointer, false)
                    : isObjectList(value) ? named(signature, columns(signature, value, pointer), pointer, false)
                    : List.of(decodeFor(single(signature), value, pointer));
            case "data" -> {
                if (!value.isObject()) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, pointer,
                            "\"data\" must be an object of input name to value");
                }
                if (signature.inputs().size() == 1 && !signature.inputs().get(0).columns().isEmpty()) {
                    yield List.of(namedFeatures(signature.inputs().get(0), value, pointer));
                }
                yield named(signature, value, pointer, true);
            }
            default -> throw new IllegalStateException(key);
        };
    }

    /**
     * Hugging Face's object of named texts ({@code {"question": q, "context": c}}), and TEI's rerank
     * shape ({@code {"query": q, "texts": [..]}}): a field the model has no input of is renamed by
     * {@link #ALIASES} where the model has that input instead, and one text beside lists of texts is
     * repeated to their length, so that each row is one (query, text) pair.
     */
    private static JsonNode fields(Signature signature, JsonNode object) {
        int rows = -1;
        for (JsonNode v : object) {
            if (v.isArray()) {
                rows = Math.max(rows, v.size());
            }
        }
        com.fasterxml.jackson.databind.node.ObjectNode out = JsonNodeFactory.instance.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (signature.findInput(name).isEmpty() && ALIASES.containsKey(name)
                    && signature.findInput(ALIASES.get(name)).isPresent() && !object.has(ALIASES.get(name))) {
                name = ALIASES.get(name);
            }
            JsonNode v = e.getValue();
            boolean textColumn = signature.findInput(name).map(spec -> spec.datatype() == DataType.BYTES
                    && spec.shape().size() == 1).orElse(false);
            if (v.isTextual() && rows >= 0 && textColumn) {
                com.fasterxml.jackson.databind.node.ArrayNode repeated = JsonNodeFactory.instance.arrayNode();
                for (int i = 0; i < rows; i++) {
                    repeated.add(v);
                }
                v = repeated;
            }
            out.set(name, v);
        }
        return out;
    }

    private static boolean isObjectList(JsonNode value) {
        if (!value.isArray() || value.isEmpty()) {
            return false;
        }
        for (JsonNode element : value) {
            if (!element.isObject()) {
                return false;
            }
        }
        return true;
    }

    /**
     * A list of Hugging Face objects ({@code [{"question": q, "context": c}, ..]}, or
     * {@code [{"text": q, "text_pair": p}, ..]}) as one column per field, a row per object. Each
     * object names the same fields; a text input's value must be a string (422 naming
     * {@code /inputs/<i>/<field>}).
     */
    private static JsonNode columns(Signature signature, JsonNode list, String pointer) {
        List<String> names = new ArrayList<>();
        list.get(0).fieldNames().forEachRemaining(names::add);
        com.fasterxml.jackson.databind.node.ObjectNode out = JsonNodeFactory.instance.objectNode();
        names.forEach(n -> out.putArray(n));
        for (int i = 0; i < list.size(); i++) {
            JsonNode element = list.get(i);
            List<String> fields = new ArrayList<>();
            element.fieldNames().forEachRemaining(fields::add);
            if (!new java.util.HashSet<>(fields).equals(new java.util.HashSet<>(names))) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, pointer + "/" + i, "each object names the "
                        + "same fields as the first, " + names + "; this one has " + fields);
            }
            for (String name : names) {
                JsonNode v = element.get(name);
                boolean text = signature.findInput(name).map(spec -> spec.datatype() == DataType.BYTES).orElse(false);
                if (text && !v.isTextual()) {
                    throw ProblemException.field(ProblemType.INVALID_INPUT, pointer + "/" + i + "/"
                            + pointerToken(name), "a BYTES input takes a string here");
                }
                ((com.fasterxml.jackson.databind.node.ArrayNode) out.get(name)).add(v);
            }
        }
        return out;
    }

    private static List<Tensor> named(Signature signature, JsonNode object, String pointer, boolean oneRow) {
        List<Tensor> tensors = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String at = pointer + "/" + pointerToken(e.getKey());
            TensorSpec spec = signature.findInput(e.getKey()).orElseThrow(() -> ProblemException.field(
                    ProblemType.UNKNOWN_INPUT, at, "the model has no input named '" + e.getKey() + "'; its inputs are "
                            + signature.inputs().stream().map(TensorSpec::name).toList()));
            Tensor t = decodeFor(spec, e.getValue(), at);
            while (oneRow && t.shape().length < spec.shape().size()) {
                t = withLeadingOne(t);
            }
            tensors.add(t);
        }
        return tensors;
    }

    /** One row of a tabular model's features by name, in the model's column order. */
    private static Tensor namedFeatures(TensorSpec spec, JsonNode object, String pointer) {
        List<String> columns = spec.columns();
        List<String> missing = columns.stream().filter(c -> !object.has(c)).toList();
        List<String> extra = new ArrayList<>();
        object.fieldNames().forEachRemaining(f -> {
            if (!columns.contains(f)) {
                extra.add(f);
            }
        });
        if (!missing.isEmpty() || !extra.isEmpty()) {
            List<ProblemException.FieldError> errors = new ArrayList<>();
            missing.forEach(m -> errors.add(new ProblemException.FieldError(pointer + "/" + m, "missing feature")));
            extra.forEach(x -> errors.add(new ProblemException.FieldError(pointer + "/" + x, "unknown feature")));
            throw new ProblemException(ProblemType.INVALID_INPUT, "the model's features are " + columns
                    + (missing.isEmpty() ? "" : "; missing: " + missing) + (extra.isEmpty() ? "" : "; unknown: " + extra),
                    errors);
        }
        com.fasterxml.jackson.databind.node.ArrayNode row = com.fasterxml.jackson.databind.node.JsonNodeFactory
                .instance.arrayNode();
        columns.forEach(c -> row.add(object.get(c)));
        com.fasterxml.jackson.databind.node.ArrayNode rows = com.fasterxml.jackson.databind.node.JsonNodeFactory
                .instance.arrayNode().add(row);
        return TensorJson.decode(spec.name(), spec.datatype(), null, rows, pointer);
    }

    private static Tensor decodeFor(TensorSpec spec, JsonNode value, String pointer) {
        Tensor t = TensorJson.decode(spec.name(), spec.datatype(), null, value, pointer);
        // Hugging Face's {"inputs": "one text"} is one row of a model that takes a list of texts
        return value.isTextual() && spec.shape().size() == 1 ? withLeadingOne(t) : t;
    }

    private static TensorSpec single(Signature signature) {
        if (signature.inputs().size() != 1) {
            throw new ProblemException(ProblemType.INVALID_INPUT, "this model has " + signature.inputs().size()
                    + " inputs (" + signature.inputs().stream().map(TensorSpec::name).toList()
                    + "); name them: {\"inputs\": {\"<name>\": [...]}}");
        }
        return signature.inputs().get(0);
    }

    private static Tensor withLeadingOne(Tensor t) {
        long[] shape = new long[t.shape().length + 1];
        shape[0] = 1;
        System.arraycopy(t.shape(), 0, shape, 1, t.shape().length);
        return new Tensor(t.name(), t.datatype(), shape, t.data(), t.bytes());
    }
}
