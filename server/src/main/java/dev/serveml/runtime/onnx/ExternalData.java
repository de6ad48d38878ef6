package dev.serveml.runtime.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Refuses ONNX models whose tensors keep their data in files outside the model's own directory.
 *
 * <p>An ONNX tensor may say "my bytes are in file X at offset O" ({@code data_location: EXTERNAL}
 * with an {@code external_data} entry {@code location}); ONNX Runtime opens X relative to the model
 * file, and follows {@code ..}, absolute paths and symbolic links. A tenant who names the server's
 * JWT key there gets its bytes back as a model output. So before a session is created, every
 * {@code TensorProto} of the model is found and each {@code location} must be a plain relative
 * path (no {@code ..}, no absolute path, no backslash, colon or control character) naming a
 * regular file (not a link) that is present in the model's directory, and any {@code offset} and
 * {@code length} must lie inside that file.
 *
 * <p>The file is walked with protobuf's wire-format reader and the field numbers of
 * {@code onnx.proto} (onnx 1.18), not parsed into generated classes: an upload may be close to the
 * 2 GB protobuf limit, and its weights are skipped, never held in memory. Tensors are found in
 * graph initializers, sparse initializers, node attributes (Constant's {@code value}, If/Loop/Scan
 * bodies and any other graph or tensor attribute, at any depth), functions (their nodes and
 * attribute defaults) and training-info graphs. Fields this reader does not name are skipped, as
 * a protobuf parser keeps them as unknown fields that ONNX Runtime never reads.
 */
public final class ExternalData {
    /** Nested messages allowed; protobuf's own default recursion limit is 100. */
    static final int MAX_DEPTH = 100;
    /** Longest external-data key or value read; longer ones are no path a file system takes. */
    private static final int MAX_TEXT = 4096;

    // onnx.proto field numbers (checked against onnx/onnx.proto: ModelProto, GraphProto, ...).
    private static final int MODEL_GRAPH = 7;
    private static final int MODEL_TRAINING_INFO = 20;
    private static final int MODEL_FUNCTIONS = 25;
    private static final int TRAINING_INITIALIZATION = 1;
    private static final int TRAINING_ALGORITHM = 2;
    private static final int FUNCTION_NAME = 1;
    private static final int FUNCTION_NODE = 7;
    private static final int FUNCTION_ATTRIBUTE_PROTO = 11;
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_NAME = 2;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_SPARSE_INITIALIZER = 15;
    private static final int NODE_NAME = 3;
    private static final int NODE_OP_TYPE = 4;
    private static final int NODE_ATTRIBUTE = 5;
    private static final int ATTRIBUTE_NAME = 1;
    private static final int ATTRIBUTE_T = 5;
    private static final int ATTRIBUTE_G = 6;
    private static final int ATTRIBUTE_TENSORS = 10;
    private static final int ATTRIBUTE_GRAPHS = 11;
    private static final int ATTRIBUTE_SPARSE_TENSOR = 22;
    private static final int ATTRIBUTE_SPARSE_TENSORS = 23;
    private static final int SPARSE_VALUES = 1;
    private static final int SPARSE_INDICES = 2;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_EXTERNAL_DATA = 13;
    private static final int TENSOR_DATA_LOCATION = 14;
    private static final int ENTRY_KEY = 1;
    private static final int ENTRY_VALUE = 2;
    private static final int DATA_LOCATION_EXTERNAL = 1;

    private final CodedInputStream in;
    private final Path modelDir;
    private int depth;

    private ExternalData(CodedInputStream in, Path modelDir) {
        this.in = in;
        this.modelDir = modelDir;
    }

    /**
     * Checks every tensor of the model file; external data may only come from files in the
     * model file's own directory (or below it).
     *
     * @throws ProblemException {@code invalid-model} naming the tensor and saying why
     */
    public static void check(Path modelFile) {
        Path dir = modelFile.toAbsolutePath().normalize().getParent();
        try (InputStream file = new BufferedInputStream(Files.newInputStream(modelFile), 1 << 16)) {
            CodedInputStream in = CodedInputStream.newInstance(file);
            in.setSizeLimit(Integer.MAX_VALUE);
            new ExternalData(in, dir).model();
        } catch (InvalidProtocolBufferException e) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "ServeML could not load the file as an ONNX "
                    + "model: it is not a readable ONNX protobuf (" + e.getMessage() + "). Export the model with a "
                    + "current ONNX converter and upload the .onnx file itself.");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the model file", e);
        }
    }

    /** A step inside one length-delimited field. */
    private interface Body {
        void read() throws IOException;
    }

    /** Skips a field this reader does not need; a stray end-group tag is malformed, as protobuf's parser says. */
    private void skip(int tag) throws IOException {
        if (!in.skipField(tag)) {
            throw new InvalidProtocolBufferException("an end-group tag where no group is open");
        }
    }

    private void nested(int tag, Body body) throws IOException {
        if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            skip(tag); // not a message here; a protobuf parser keeps it as an unknown field
            return;
        }
        if (++depth > MAX_DEPTH) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the model nests graphs and tensors more than "
                    + MAX_DEPTH + " levels deep; ServeML does not load it");
        }
        int limit = in.pushLimit(in.readRawVarint32()); // refuses negative sizes and sizes past the end
        body.read(); // reads to the limit, where readTag answers 0 (or to the end of the file)
        if (in.getBytesUntilLimit() > 0) {
            throw new InvalidProtocolBufferException("the file ends inside a message (truncated?)");
        }
        in.popLimit(limit);
        depth--;
    }

    private void model() throws IOException {
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case MODEL_GRAPH -> nested(tag, () -> graph(""));
                case MODEL_TRAINING_INFO -> nested(tag, this::trainingInfo);
                case MODEL_FUNCTIONS -> nested(tag, this::function);
                default -> skip(tag);
            }
        }
    }

    private void trainingInfo() throws IOException {
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case TRAINING_INITIALIZATION -> nested(tag, () -> graph(" in the training initialization graph"));
                case TRAINING_ALGORITHM -> nested(tag, () -> graph(" in the training algorithm graph"));
                default -> skip(tag);
            }
        }
    }

    private void function() throws IOException {
        String name = "";
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            String where = " in function '" + name + "'";
            switch (WireFormat.getTagFieldNumber(tag)) {
                case FUNCTION_NAME -> name = label(tag, name);
                case FUNCTION_NODE -> nested(tag, () -> node(where));
                case FUNCTION_ATTRIBUTE_PROTO -> nested(tag, () -> attribute("the default of ", where));
                default -> skip(tag);
            }
        }
    }

    /** @param where how to say where this graph sits ("" for the main graph) */
    private void graph(String where) throws IOException {
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case GRAPH_NODE -> nested(tag, () -> node(where));
                case GRAPH_INITIALIZER -> nested(tag, () -> tensor("initializer", where));
                case GRAPH_SPARSE_INITIALIZER -> nested(tag, () -> sparse("sparse initializer", where));
                case GRAPH_NAME -> label(tag, "");
                default -> skip(tag);
            }
        }
    }

    private void node(String where) throws IOException {
        String name = "";
        String op = "";
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            String node = "node '" + name + "'" + (op.isEmpty() ? "" : " (" + op + ")");
            switch (WireFormat.getTagFieldNumber(tag)) {
                case NODE_NAME -> name = label(tag, name);
                case NODE_OP_TYPE -> op = label(tag, op);
                case NODE_ATTRIBUTE -> nested(tag, () -> attribute("", " of " + node + where));
                default -> skip(tag);
            }
        }
    }

    /** @param prefix words before "attribute 'x'"; @param where the node (or function) it belongs to */
    private void attribute(String prefix, String where) throws IOException {
        String name = "";
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            String at = prefix + "attribute '" + name + "'" + where;
            switch (WireFormat.getTagFieldNumber(tag)) {
                case ATTRIBUTE_NAME -> name = label(tag, name);
                case ATTRIBUTE_T, ATTRIBUTE_TENSORS -> nested(tag, () -> tensor("tensor", " in " + at));
                case ATTRIBUTE_SPARSE_TENSOR, ATTRIBUTE_SPARSE_TENSORS ->
                        nested(tag, () -> sparse("sparse tensor", " in " + at));
                case ATTRIBUTE_G, ATTRIBUTE_GRAPHS -> nested(tag, () -> graph(" in the subgraph of " + at));
                default -> skip(tag);
            }
        }
    }

    private void sparse(String what, String where) throws IOException {
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case SPARSE_VALUES -> nested(tag, () -> tensor(what, where));
                case SPARSE_INDICES -> nested(tag, () -> tensor(what + " indices", where));
                default -> skip(tag);
            }
        }
    }

    /** One TensorProto: its name, where its data is, and every {@code location} it names. */
    private void tensor(String what, String where) throws IOException {
        String name = "";
        boolean external = false;
        java.util.List<Entry> entries = new java.util.ArrayList<>();
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case TENSOR_NAME -> name = label(tag, name);
                case TENSOR_DATA_LOCATION -> {
                    if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                        external |= in.readEnum() == DATA_LOCATION_EXTERNAL;
                    } else {
                        skip(tag);
                    }
                }
                case TENSOR_EXTERNAL_DATA -> nested(tag, () -> entries.add(entry()));
                default -> skip(tag);
            }
        }
        if (!external && entries.isEmpty()) {
            return;
        }
        String tensor = what + " '" + name + "'" + where;
        new Reference(tensor, entries).check(modelDir);
    }

    /** An external_data key and value; either null when absent, {@link #TOO_LONG} when over {@link #MAX_TEXT}. */
    record Entry(String key, String value) {
    }

    static final String TOO_LONG = "\u0000too long";

    private Entry entry() throws IOException {
        String key = null;
        String value = null;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case ENTRY_KEY -> key = text(tag);
                case ENTRY_VALUE -> value = text(tag);
                default -> skip(tag);
            }
        }
        return new Entry(key, value);
    }

    /** A string field read whole when short, else skipped and marked {@link #TOO_LONG}. */
    private String text(int tag) throws IOException {
        if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            skip(tag);
            return null;
        }
        int size = in.readRawVarint32();
        if (size < 0) {
            throw new InvalidProtocolBufferException("a string field has a negative size");
        }
        if (size > MAX_TEXT) {
            in.skipRawBytes(size);
            return TOO_LONG;
        }
        return new String(in.readRawBytes(size), StandardCharsets.UTF_8);
    }

    /** A name to show in a message: printable, at most 80 characters. */
    private String label(int tag, String fallback) throws IOException {
        String text = text(tag);
        return text == null || text.equals(TOO_LONG) ? fallback : shown(text);
    }

    static String shown(String text) {
        String printable = text.replaceAll("\\p{Cntrl}", "?");
        return printable.length() > 80 ? printable.substring(0, 80) + "..." : printable;
    }

    /**
     * The external-data entries of one tensor, and the rules they must follow.
     *
     * @param tensor how to name the tensor in a message ("initializer 'W'")
     */
    record Reference(String tensor, java.util.List<Entry> entries) {

        void check(Path modelDir) {
            String location = null;
            long offset = 0;
            long length = -1;
            for (Entry e : entries) {
                if ("location".equals(e.key())) {
                    location = e.value() == null ? "" : e.value();
                    requireInside(location, modelDir);
                } else if ("offset".equals(e.key())) {
                    offset = number(e, "offset");
                } else if ("length".equals(e.key())) {
                    length = number(e, "length");
                }
            }
            if (location == null) {
                throw refuse("its data is stored externally but names no file (no 'location')");
            }
            long size = sizeOf(modelDir.resolve(location));
            if (offset > size || (length >= 0 && length > size - offset)) {
                throw refuse("its external data (offset " + offset + (length >= 0 ? ", length " + length : "")
                        + ") runs past the end of '" + shown(location) + "' (" + size + " bytes)");
            }
        }

        private void requireInside(String location, Path modelDir) {
            if (location.equals(TOO_LONG)) {
                throw refuse("its external data location is longer than " + MAX_TEXT + " bytes");
            }
            String why = unsafeReason(location);
            if (why != null) {
                throw refuse("its external data location '" + shown(location) + "' " + why);
            }
            Path file = modelDir.resolve(location).normalize();
            if (!file.startsWith(modelDir) || file.equals(modelDir)) {
                throw refuse("its external data location '" + shown(location) + "' leaves the model's directory");
            }
            if (Files.isSymbolicLink(file)) {
                throw refuse("its external data location '" + shown(location)
                        + "' is a symbolic link; the data file itself must be in the upload");
            }
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw refuse("its external data file '" + shown(location) + "' is not in the upload; put it in one "
                        + ".zip or .tar.gz beside the .onnx file (as model.onnx and model.onnx_data)");
            }
            try {
                // A directory on the way may be a link even when the file is not.
                if (!file.toRealPath().startsWith(modelDir.toRealPath())) {
                    throw refuse("its external data location '" + shown(location)
                            + "' goes through a symbolic link out of the model's directory");
                }
            } catch (IOException e) {
                throw refuse("its external data file '" + shown(location) + "' cannot be read");
            }
        }

        /** Why a location is not a plain relative path, or null when it is one. */
        static String unsafeReason(String location) {
            if (location.isEmpty()) {
                return "is empty";
            }
            if (location.startsWith("/")) {
                return "is an absolute path; it must be relative to the model file";
            }
            for (int i = 0; i < location.length(); i++) {
                char c = location.charAt(i);
                if (c == '\\' || c == ':' || Character.isISOControl(c)) {
                    return "holds a backslash, colon or control character";
                }
            }
            for (String part : location.split("/", -1)) {
                if (part.equals("..")) {
                    return "climbs out of the model's directory with '..'";
                }
                if (part.isEmpty() || part.equals(".")) {
                    return "is not a normalized relative path";
                }
            }
            return null;
        }

        private long number(Entry e, String key) {
            String value = e.value() == null ? "" : e.value();
            try {
                long n = Long.parseLong(value);
                if (n >= 0) {
                    return n;
                }
            } catch (NumberFormatException ignored) {
                // refused below
            }
            throw refuse("its external data " + key + " '" + shown(value) + "' is not a non-negative whole number");
        }

        private long sizeOf(Path file) {
            try {
                return Files.size(file);
            } catch (IOException e) {
                throw refuse("its external data file cannot be read");
            }
        }

        private ProblemException refuse(String why) {
            return new ProblemException(ProblemType.INVALID_MODEL, "ServeML refused the model: " + tensor + " "
                    + why + ". External data may only name files uploaded with the model, in its own directory.");
        }
    }
}
