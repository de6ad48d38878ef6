package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorJson;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Open Inference Protocol's infer messages: JSON tensors (flat or nested data) and the binary
 * tensor data extension ({@code Inference-Header-Content-Length}, {@code binary_data_size},
 * {@code binary_data}, {@code binary_data_output}). Pure: no I/O, no Vert.x.
 */
final class V2Codec {
    static final String HEADER_LENGTH = "Inference-Header-Content-Length";

    /** A requested output: its name and whether its data goes in the binary part. */
    record RequestedOutput(String name, boolean binary) {
    }

    /**
     * A decoded infer request.
     *
     * @param outputs      the outputs asked for; empty means all
     * @param binaryOutput {@code binary_data_output}: the default for outputs not listed
     */
    /** @param parameters the request's own parameters for the model, the protocol's taken out */
    record InferRequest(String id, List<Tensor> inputs, List<RequestedOutput> outputs, boolean binaryOutput,
                        Parameters parameters) {
    }

    /**
     * Request parameters that the protocol (and Triton's extensions of it) defines for the server:
     * not the model's, so never passed to it. A Triton client sends some of them to every model.
     */
    static final Set<String> PROTOCOL_PARAMETERS = Set.of("binary_data_output", "sequence_id", "sequence_start",
            "sequence_end", "priority", "timeout", "headers");

    /** An encoded answer: the body, and the JSON header's length when a binary part follows. */
    record Encoded(byte[] body, int headerLength) {
        boolean binary() {
            return headerLength >= 0;
        }
    }

    private final ObjectMapper json;
    private final long maxResponseBytes;

    /** @param maxResponseBytes the most an encoded answer may hold, JSON header and binary part together */
    V2Codec(ObjectMapper json, long maxResponseBytes) {
        this.json = json;
        this.maxResponseBytes = maxResponseBytes;
    }

    /**
     * Decodes a request body.
     *
     * @param headerLength the {@code Inference-Header-Content-Length} header, or null for pure JSON
     */
    InferRequest decode(byte[] body, String headerLength, Responses responses) {
        int jsonLength = body.length;
        if (headerLength != null) {
            try {
                jsonLength = Integer.parseInt(headerLength.trim());
            } catch (NumberFormatException e) {
                jsonLength = -1;
            }
            if (jsonLength < 0 || jsonLength > body.length) {
                throw bad(HEADER_LENGTH + " must be the byte length of the JSON header (0.." + body.length
                        + "), got '" + headerLength + "'");
            }
        }
        JsonNode root = responses.readTree(body, 0, jsonLength);
        if (!root.isObject()) {
            throw bad("the infer request must be a JSON object with an \"inputs\" array");
        }
        JsonNode inputsNode = root.get("inputs");
        if (inputsNode == null || !inputsNode.isArray() || inputsNode.isEmpty()) {
            throw bad("the infer request needs a non-empty \"inputs\" array");
        }
        int offset = jsonLength;
        List<Tensor> inputs = new ArrayList<>(inputsNode.size());
        for (int i = 0; i < inputsNode.size(); i++) {
            JsonNode in = inputsNode.get(i);
            String pointer = "/inputs/" + i;
            String name = text(in, "name", pointer);
            DataType type = DataType.fromName(text(in, "datatype", pointer)).orElseThrow(() -> bad(pointer
                    + "/datatype: unknown datatype '" + in.path("datatype").asText()
                    + "'; use BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64 or BYTES"));
            long[] shape = shape(in.get("shape"), pointer);
            JsonNode size = in.path("parameters").get("binary_data_size");
            if (size != null) {
                if (!size.canConvertToLong() || size.longValue() < 0 || offset + size.longValue() > body.length) {
                    throw bad(pointer + ": binary_data_size " + size + " runs past the end of the body ("
                            + (body.length - offset) + " bytes left)");
                }
                if (in.has("data")) {
                    throw bad(pointer + ": give either \"data\" or parameters.binary_data_size, not both");
                }
                inputs.add(binary(name, type, shape, body, offset, (int) size.longValue(), pointer));
                offset += (int) size.longValue();
            } else {
                JsonNode data = in.get("data");
                if (data == null) {
                    throw bad(pointer + ": input '" + name + "' has neither \"data\" nor binary_data_size");
                }
                inputs.add(TensorJson.decode(name, type, shape, data, pointer + "/data"));
            }
        }
        if (offset != body.length) {
            throw bad("the body has " + (body.length - offset) + " bytes of binary data that no input claims");
        }
        boolean binaryOutput = root.path("parameters").path("binary_data_output").asBoolean(false);
        List<RequestedOutput> outputs = new ArrayList<>();
        JsonNode outputsNode = root.get("outputs");
        if (outputsNode != null) {
            if (!outputsNode.isArray()) {
                throw bad("\"outputs\" must be an array of {\"name\": ...}");
            }
            for (int i = 0; i < outputsNode.size(); i++) {
                JsonNode out = outputsNode.get(i);
                String name = text(out, "name", "/outputs/" + i);
                outputs.add(new RequestedOutput(name, out.path("parameters").path("binary_data").asBoolean(binaryOutput)));
            }
        }
        JsonNode id = root.get("id");
        return new InferRequest(id != null && id.isTextual() ? id.textValue() : null, inputs, outputs, binaryOutput,
                Parameters.fromJson(root.get("parameters"), PROTOCOL_PARAMETERS));
    }

    private static Tensor binary(String name, DataType type, long[] shape, byte[] body, int offset, int size,
                                 String pointer) {
        long count;
        long bytes;
        try {
            count = Tensor.elementCount(shape);
            bytes = type == DataType.BYTES ? 0 : Math.multiplyExact(count, type.size());
        } catch (ArithmeticException | IllegalArgumentException e) {
            throw bad(pointer + ": shape " + Arrays.toString(shape) + " is too large");
        }
        if (type != DataType.BYTES && size != bytes) {
            throw bad(pointer + ": binary_data_size is " + size + " bytes but shape and " + type + " need "
                    + bytes);
        }
        try {
            return Tensor.fromRawBytes(name, type, shape, body, offset, size);
        } catch (IllegalArgumentException e) {
            throw bad(pointer + ": " + e.getMessage());
        }
    }

    /**
     * The fewest bytes {@link #encode} can produce for these outputs (saturating): exact for binary
     * outputs, one per element for JSON ones. A caller refuses an answer above its bound on this,
     * before anything is encoded or copied.
     */
    static long floorBytes(InferRequest request, Map<String, Output> outputs) {
        Map<String, Boolean> binaryByName = new LinkedHashMap<>();
        for (RequestedOutput r : request.outputs()) {
            binaryByName.put(r.name(), r.binary());
        }
        long total = 0;
        for (Output o : outputs.values()) {
            long bytes = switch (o) {
                case Tensor t -> binaryByName.getOrDefault(t.name(), request.binaryOutput())
                        ? binarySize(t) : TensorJson.flatJsonFloor(t.elementCount());
                case MapSequence m -> 2L * m.rows().size();
            };
            total = total > Long.MAX_VALUE - bytes ? Long.MAX_VALUE : total + bytes;
        }
        return total;
    }

    /** The size of a tensor in the binary extension's layout (BYTES: with 4-byte length prefixes). */
    private static long binarySize(Tensor t) {
        long prefixes = t.datatype() == DataType.BYTES ? 4L * t.elementCount() : 0;
        return t.byteSize() + prefixes;
    }

    /** Encodes the answer; outputs with binary set go after the JSON header. */
    Encoded encode(String modelName, String modelVersion, InferRequest request, Map<String, Output> outputs) {
        return encode(modelName, modelVersion, request, outputs, null);
    }

    /** @param cache the cache outcome for the answer's {@code parameters}, or null to leave them out */
    Encoded encode(String modelName, String modelVersion, InferRequest request, Map<String, Output> outputs,
                   String cache) {
        Map<String, Boolean> binaryByName = new LinkedHashMap<>();
        for (RequestedOutput r : request.outputs()) {
            binaryByName.put(r.name(), r.binary());
        }
        List<Tensor> tensors = new ArrayList<>();
        List<List<String>> classes = new ArrayList<>();
        for (Output o : outputs.values()) {
            switch (o) {
                case Tensor t -> {
                    tensors.add(t);
                    classes.add(null);
                }
                case MapSequence m -> {
                    List<String> labels = m.rows().isEmpty() ? List.of() : List.copyOf(m.rows().get(0).keySet());
                    tensors.add(mapsAsTensor(m, labels));
                    classes.add(labels);
                }
            }
        }
        long binaryBytes = 0;
        boolean anyBinary = false;
        for (int i = 0; i < tensors.size(); i++) {
            if (binaryByName.getOrDefault(tensors.get(i).name(), request.binaryOutput())) {
                binaryBytes += binarySize(tensors.get(i));
                anyBinary = true;
            }
        }
        if (binaryBytes > maxResponseBytes) {
            throw Responses.tooLarge(maxResponseBytes);
        }
        ByteArrayOutputStream binary = new ByteArrayOutputStream((int) binaryBytes);
        ByteArrayOutputStream header = new Responses.BoundedBuffer(256, maxResponseBytes - binaryBytes);
        try (JsonGenerator g = json.getFactory().createGenerator(header)) {
            g.writeStartObject();
            g.writeStringField("model_name", modelName);
            g.writeStringField("model_version", modelVersion);
            if (request.id() != null) {
                g.writeStringField("id", request.id());
            }
            if (cache != null) {
                g.writeObjectFieldStart("parameters");
                g.writeStringField("cache", cache);
                g.writeEndObject();
            }
            g.writeArrayFieldStart("outputs");
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                boolean asBinary = binaryByName.getOrDefault(t.name(), request.binaryOutput());
                g.writeStartObject();
                g.writeStringField("name", t.name());
                g.writeStringField("datatype", t.datatype().name());
                g.writeArrayFieldStart("shape");
                for (long d : t.shape()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                if (asBinary || classes.get(i) != null) {
                    g.writeObjectFieldStart("parameters");
                    if (asBinary) {
                        byte[] raw = raw(t);
                        g.writeNumberField("binary_data_size", raw.length);
                        binary.writeBytes(raw);
                    }
                    if (classes.get(i) != null) {
                        g.writeArrayFieldStart("classes");
                        for (String c : classes.get(i)) {
                            g.writeString(c);
                        }
                        g.writeEndArray();
                    }
                    g.writeEndObject();
                }
                if (!asBinary) {
                    g.writeFieldName("data");
                    TensorJson.writeFlat(g, t);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // An empty binary output still says binary_data_size 0: the client reads the header length either way.
        if (!anyBinary) {
            return new Encoded(header.toByteArray(), -1);
        }
        int headerLength = header.size();
        byte[] body = Arrays.copyOf(header.toByteArray(), headerLength + binary.size());
        System.arraycopy(binary.toByteArray(), 0, body, headerLength, binary.size());
        return new Encoded(body, headerLength);
    }

    /** A tensor's elements in the binary extension's layout (BYTES: 4-byte little-endian length prefixes). */
    static byte[] raw(Tensor t) {
        return t.rawBytes();
    }

    /** ZipMap rows as an [N, classes] tensor of the scores, class labels given as a parameter. */
    private static Tensor mapsAsTensor(MapSequence m, List<String> labels) {
        ByteBuffer data = ByteBuffer.allocate(m.rows().size() * labels.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (Map<String, Double> row : m.rows()) {
            for (String label : labels) {
                data.putFloat(row.getOrDefault(label, 0.0).floatValue());
            }
        }
        data.flip();
        return Tensor.of(m.name(), DataType.FP32, new long[]{m.rows().size(), labels.size()}, data);
    }

    private static String text(JsonNode node, String field, String pointer) {
        JsonNode value = node == null ? null : node.get(field);
        if (value == null || !value.isTextual() || value.textValue().isEmpty()) {
            throw bad(pointer + ": \"" + field + "\" is required and must be a string");
        }
        return value.textValue();
    }

    private static long[] shape(JsonNode node, String pointer) {
        if (node == null || !node.isArray()) {
            throw bad(pointer + ": \"shape\" is required and must be an array of sizes");
        }
        long[] shape = new long[node.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = node.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.longValue() < 0) {
                throw bad(pointer + "/shape/" + i + ": dimensions are non-negative integers, got " + d);
            }
            shape[i] = d.longValue();
        }
        return shape;
    }

    private static ProblemException bad(String detail) {
        return new ProblemException(ProblemType.INVALID_REQUEST, detail);
    }
}
