package dev.serveml.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorJson;
import dev.serveml.tensor.TensorSpec;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * How a job's columns feed its model, decided once when the job is accepted (the header checked
 * against the signature) and kept with the job, so that every chunk, on any replica and after any
 * restart, is bound the same way.
 *
 * @param feeds       one per model input
 * @param passthrough the columns copied to each result row
 * @param outputs     the model's outputs, in the signature's order: the result's columns after the
 *                    pass-through ones
 */
public record Binding(List<Feed> feeds, List<String> passthrough, List<String> outputs) {
    private static final Pattern INTEGER = Pattern.compile("[-+]?\\d{1,30}");
    private static final Pattern DECIMAL = Pattern.compile("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d{1,4})?");
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** Reads a CSV cell that holds a JSON array (a row of a multi-dimensional input). */
    private static final com.fasterxml.jackson.databind.ObjectMapper CELLS = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * One model input and where its values come from.
     *
     * @param input   the input's name
     * @param type    its element type
     * @param shape   its shape, the first dimension being the rows
     * @param columns the columns it reads: for a {@code vector} feed the row's features in order, else
     *                the one column whose cell is the input's whole row
     * @param vector  whether the input is one row of features taken from several columns
     */
    public record Feed(String input, DataType type, List<Long> shape, List<String> columns, boolean vector) {
        public Feed {
            Objects.requireNonNull(input);
            Objects.requireNonNull(type);
            shape = List.copyOf(shape);
            columns = List.copyOf(columns);
        }
    }

    public Binding {
        feeds = List.copyOf(feeds);
        passthrough = List.copyOf(passthrough);
        outputs = List.copyOf(outputs);
    }

    /**
     * Binds a file's columns to a model's inputs.
     *
     * @param header      the file's columns (a CSV header; the JSON formats' first row's fields)
     * @param features    the columns the caller named as features, or empty for the signature's
     * @param passthrough the columns the caller wants copied to the result
     * @throws ProblemException {@code job-columns} naming every missing and unknown column, or
     *                          {@code invalid-job} for a model whose inputs a file cannot feed
     */
    public static Binding of(Signature signature, List<String> header, List<String> features, List<String> passthrough) {
        Set<String> columns = new LinkedHashSet<>(header);
        List<ProblemException.FieldError> errors = new ArrayList<>();
        if (columns.size() != header.size()) {
            Set<String> seen = new java.util.HashSet<>();
            for (String c : header) {
                if (!seen.add(c)) {
                    errors.add(new ProblemException.FieldError("/columns/" + pointer(c), "column '" + c
                            + "' is named twice in the header"));
                }
            }
        }
        for (String p : passthrough) {
            if (!columns.contains(p)) {
                errors.add(new ProblemException.FieldError("/columns/" + pointer(p), "pass-through column '" + p
                        + "' is not in the file"));
            }
        }
        List<String> outputs = signature.outputs().stream().map(TensorSpec::name).toList();
        for (String p : passthrough) {
            if (outputs.contains(p)) {
                errors.add(new ProblemException.FieldError("/columns/" + pointer(p), "pass-through column '" + p
                        + "' has the name of one of the model's outputs " + outputs));
            }
        }
        List<Feed> feeds = new ArrayList<>();
        TensorSpec only = signature.inputs().size() == 1 ? signature.inputs().get(0) : null;
        if (signature.inputs().isEmpty()) {
            throw new ProblemException(ProblemType.INVALID_JOB, "the model declares no inputs, so a file cannot feed it");
        }
        if (only != null && only.shape().size() == 2 && only.datatype() != DataType.BYTES && only.shape().get(1) != 1) {
            // A tabular model: one input, a row of features from the file's columns.
            long width = only.shape().get(1);
            List<String> chosen = !features.isEmpty() ? features
                    : !only.columns().isEmpty() ? only.columns()
                    : header.stream().filter(c -> !passthrough.contains(c)).toList();
            for (String f : chosen) {
                if (!columns.contains(f)) {
                    errors.add(new ProblemException.FieldError("/columns/" + pointer(f), "feature column '" + f
                            + "' is not in the file"));
                } else if (!only.columns().isEmpty() && !only.columns().contains(f)) {
                    errors.add(new ProblemException.FieldError("/columns/" + pointer(f), "the model has no feature '"
                            + f + "'; its features are " + only.columns()));
                }
            }
            if (features.isEmpty() && !only.columns().isEmpty()) {
                unknown(header, chosen, passthrough, errors);
            }
            if (errors.isEmpty() && width > 0 && chosen.size() != width) {
                errors.add(new ProblemException.FieldError("/columns", "the model takes " + width + " features per "
                        + "row; the file's feature columns are " + chosen + " (" + chosen.size() + "). Name the others "
                        + "in \"passthrough\", or the features in \"features\""));
            }
            feeds.add(new Feed(only.name(), only.datatype(), only.shape(), chosen, true));
        } else {
            // One column per input, named as the input; its cell is that input's row.
            List<String> names = signature.inputs().stream().map(TensorSpec::name).toList();
            for (String f : features) {
                if (!names.contains(f)) {
                    errors.add(new ProblemException.FieldError("/columns/" + pointer(f), "the model has no input '" + f
                            + "'; its inputs are " + names));
                }
            }
            for (TensorSpec in : signature.inputs()) {
                if (in.shape().isEmpty()) {
                    throw new ProblemException(ProblemType.INVALID_JOB, "the model's input '" + in.name()
                            + "' is a scalar, not rows, so a file cannot feed it");
                }
                if (!columns.contains(in.name())) {
                    errors.add(new ProblemException.FieldError("/columns/" + pointer(in.name()), "the model's input '"
                            + in.name() + "' has no column of that name in the file"));
                }
                feeds.add(new Feed(in.name(), in.datatype(), in.shape(), List.of(in.name()), false));
            }
            unknown(header, names, passthrough, errors);
        }
        if (!errors.isEmpty()) {
            throw new ProblemException(ProblemType.JOB_COLUMNS, "the file's columns " + header + " do not match the "
                    + "model: " + String.join("; ", errors.stream().map(ProblemException.FieldError::message).toList()),
                    errors);
        }
        return new Binding(feeds, passthrough, outputs);
    }

    private static void unknown(List<String> header, List<String> used, List<String> passthrough,
                                List<ProblemException.FieldError> errors) {
        for (String c : header) {
            if (!used.contains(c) && !passthrough.contains(c)) {
                errors.add(new ProblemException.FieldError("/columns/" + pointer(c), "column '" + c + "' is neither a "
                        + "feature of the model nor named in \"passthrough\""));
            }
        }
    }

    private static String pointer(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }

    /** A chunk's rows as the model's inputs: the rows that bound, and those that did not with why. */
    public record Bound(List<Tensor> inputs, List<InputRow.Values> rows, List<Rejected> rejected) {
    }

    /** A row that could not be made into the model's input. */
    public record Rejected(InputRow.Values row, JobProblem problem) {
    }

    /** Binds rows: a row with a missing value or one of the wrong type is rejected, never the chunk. */
    public Bound bind(List<InputRow.Values> rows) {
        List<InputRow.Values> kept = new ArrayList<>(rows.size());
        List<Rejected> rejected = new ArrayList<>();
        List<ArrayNode> columns = new ArrayList<>();
        List<long[]> rowShapes = new ArrayList<>();
        for (int f = 0; f < feeds.size(); f++) {
            columns.add(NODES.arrayNode());
            rowShapes.add(null);
        }
        List<JsonNode> values = new ArrayList<>(feeds.size());
        for (InputRow.Values row : rows) {
            values.clear();
            String problem = null;
            for (int f = 0; f < feeds.size() && problem == null; f++) {
                Feed feed = feeds.get(f);
                try {
                    JsonNode value = feed.vector ? vector(feed, row.fields()) : oneColumn(feed, cell(feed, row.fields()));
                    // A row of floating-point features converted by scalar() is valid as it is; others
                    // are decoded alone here, so that a value out of the type's range fails only its row.
                    long[] shape = feed.vector && feed.type.isFloatingPoint() ? new long[]{value.size()}
                            : TensorJson.decode(feed.input, feed.type, null, value, "").shape();
                    problem = shapeProblem(feed, shape, rowShapes.get(f));
                    if (problem == null && rowShapes.get(f) == null) {
                        rowShapes.set(f, shape);
                    }
                    values.add(value);
                } catch (ProblemException e) {
                    problem = e.detail();
                }
            }
            if (problem != null) {
                rejected.add(new Rejected(row, JobProblem.of(ProblemType.INVALID_INPUT, "line " + row.line() + ": "
                        + problem)));
                continue;
            }
            for (int f = 0; f < feeds.size(); f++) {
                columns.get(f).add(values.get(f));
            }
            kept.add(row);
        }
        List<Tensor> inputs = new ArrayList<>(feeds.size());
        if (!kept.isEmpty()) {
            for (int f = 0; f < feeds.size(); f++) {
                Feed feed = feeds.get(f);
                inputs.add(TensorJson.decode(feed.input, feed.type, null, columns.get(f), ""));
            }
        }
        return new Bound(inputs, kept, rejected);
    }

    /** A row's shape against the input's (its first dimension the rows), and the first row's. */
    private static String shapeProblem(Feed feed, long[] shape, long[] first) {
        if (shape.length != feed.shape.size() - 1) {
            return "input '" + feed.input + "' takes a row of rank " + (feed.shape.size() - 1) + ", this one has rank "
                    + shape.length;
        }
        for (int d = 0; d < shape.length; d++) {
            long want = feed.shape.get(d + 1);
            if (want >= 0 && want != shape[d]) {
                return "input '" + feed.input + "' takes rows of shape " + feed.shape.subList(1, feed.shape.size())
                        + ", this one has " + java.util.Arrays.toString(shape);
            }
        }
        if (first != null && !java.util.Arrays.equals(first, shape)) {
            return "input '" + feed.input + "' rows of one call must have one shape: the first is "
                    + java.util.Arrays.toString(first) + ", this one " + java.util.Arrays.toString(shape);
        }
        return null;
    }

    private static JsonNode vector(Feed feed, Map<String, JsonNode> fields) {
        ArrayNode row = NODES.arrayNode(feed.columns.size());
        for (String c : feed.columns) {
            JsonNode v = fields.get(c);
            if (v == null || v.isNull() || (v.isTextual() && v.textValue().isBlank())) {
                throw new ProblemException(ProblemType.INVALID_INPUT, "column '" + c + "' has no value");
            }
            JsonNode converted = scalar(feed.type, v);
            if (converted == null) {
                throw new ProblemException(ProblemType.INVALID_INPUT, "column '" + c + "' holds " + shown(v)
                        + ", not " + (feed.type == DataType.BOOL ? "true or false" : "a number"));
            }
            row.add(converted);
        }
        return row;
    }

    /** A scalar cell for an input of one column per row ({@code [-1, 1]}) is that row: {@code [v]}. */
    private static JsonNode oneColumn(Feed feed, JsonNode value) {
        return feed.shape.size() == 2 && feed.shape.get(1) == 1 && !value.isArray() ? NODES.arrayNode(1).add(value)
                : value;
    }

    private static JsonNode cell(Feed feed, Map<String, JsonNode> fields) {
        String c = feed.columns.get(0);
        JsonNode v = fields.get(c);
        if (v == null || v.isNull()) {
            throw new ProblemException(ProblemType.INVALID_INPUT, "column '" + c + "' has no value");
        }
        if (feed.type == DataType.BYTES) {
            return v;
        }
        if (v.isTextual()) {
            String text = v.textValue().trim();
            if (text.startsWith("[")) {
                try {
                    return numbers(feed.type, CELLS.readTree(text));
                } catch (java.io.IOException e) {
                    throw new ProblemException(ProblemType.INVALID_INPUT, "column '" + c + "' holds " + shown(v)
                            + ", which is not a JSON array");
                }
            }
            JsonNode converted = scalar(feed.type, v);
            if (converted == null) {
                throw new ProblemException(ProblemType.INVALID_INPUT, "column '" + c + "' holds " + shown(v)
                        + ", not a number");
            }
            return converted;
        }
        return numbers(feed.type, v);
    }

    /** Text inside a JSON array read from a CSV cell is converted as a cell is; numbers stay. */
    private static JsonNode numbers(DataType type, JsonNode v) {
        if (v.isArray()) {
            ArrayNode out = NODES.arrayNode(v.size());
            for (JsonNode e : v) {
                out.add(numbers(type, e));
            }
            return out;
        }
        JsonNode converted = scalar(type, v);
        return converted == null ? v : converted;
    }

    /** A CSV cell's text as the number (or boolean) it writes; a JSON value as it is; null if it is not one. */
    static JsonNode scalar(DataType type, JsonNode v) {
        if (!v.isTextual()) {
            return type == DataType.BOOL ? (v.isBoolean() ? v : null) : v.isNumber() ? v : null;
        }
        String text = v.textValue().trim();
        if (type.isFloatingPoint() && plainDecimal(text)) {
            return NODES.numberNode(Double.parseDouble(text)); // the common cell, without a regular expression
        }
        if (type == DataType.BOOL) {
            return switch (text.toLowerCase(java.util.Locale.ROOT)) {
                case "true", "1" -> NODES.booleanNode(true);
                case "false", "0" -> NODES.booleanNode(false);
                default -> null;
            };
        }
        if (INTEGER.matcher(text).matches()) {
            BigInteger big = new BigInteger(text.startsWith("+") ? text.substring(1) : text);
            return big.bitLength() < 64 ? NODES.numberNode(big.longValue()) : NODES.numberNode(big);
        }
        if (DECIMAL.matcher(text).matches()) {
            return NODES.numberNode(Double.parseDouble(text));
        }
        if (type.isFloatingPoint()) {
            return switch (text) {
                case "NaN", "nan" -> NODES.textNode("NaN");
                case "Infinity", "inf", "+inf", "+Infinity" -> NODES.textNode("Infinity");
                case "-Infinity", "-inf" -> NODES.textNode("-Infinity");
                default -> null;
            };
        }
        return null;
    }

    /** Digits with at most one point and an optional leading sign: {@code 5.1}, {@code -3}, {@code .5}. */
    private static boolean plainDecimal(String text) {
        int n = text.length();
        int i = n > 0 && (text.charAt(0) == '-' || text.charAt(0) == '+') ? 1 : 0;
        boolean digit = false;
        boolean point = false;
        if (n - i > 40) {
            return false;
        }
        for (; i < n; i++) {
            char ch = text.charAt(i);
            if (ch >= '0' && ch <= '9') {
                digit = true;
            } else if (ch == '.' && !point) {
                point = true;
            } else {
                return false;
            }
        }
        return digit;
    }

    private static String shown(JsonNode v) {
        String s = v.isTextual() ? '"' + v.textValue() + '"' : v.toString();
        return s.length() > 40 ? s.substring(0, 40) + "...\"" : s;
    }
}
