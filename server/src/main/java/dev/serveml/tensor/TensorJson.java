package dev.serveml.tensor;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Converts between JSON arrays (flat or nested, row-major) and {@link Tensor}s of every
 * {@link DataType}. Errors are {@link ProblemException}s whose pointer names the offending
 * element, so both the native API and the V2 protocol can report them.
 */
public final class TensorJson {
    private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    private TensorJson() {
    }

    /**
     * Decodes JSON data into a tensor.
     *
     * @param shape   the declared shape, or null to take it from the nesting of {@code data}
     * @param pointer JSON pointer of {@code data} in the request, for error messages
     */
    public static Tensor decode(String name, DataType type, long[] shape, JsonNode data, String pointer) {
        List<JsonNode> elements = new ArrayList<>();
        long[] nestedShape = flatten(data, pointer, elements);
        long[] finalShape = shape == null ? nestedShape : shape;
        long expected;
        try {
            expected = Tensor.elementCount(finalShape);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw ProblemException.field(ProblemType.SHAPE_MISMATCH, pointer,
                    "input '" + name + "' has an invalid shape " + Arrays.toString(finalShape));
        }
        if (expected != elements.size()) {
            throw ProblemException.field(ProblemType.SHAPE_MISMATCH, pointer, "input '" + name + "' has "
                    + elements.size() + " elements but shape " + Arrays.toString(finalShape) + " needs " + expected);
        }
        if (type == DataType.BYTES) {
            List<byte[]> values = new ArrayList<>(elements.size());
            for (int i = 0; i < elements.size(); i++) {
                JsonNode element = elements.get(i);
                if (!element.isTextual()) {
                    throw elementError(name, type, elementPointer(pointer, nestedShape, i), i, element);
                }
                values.add(element.textValue().getBytes(StandardCharsets.UTF_8));
            }
            return Tensor.ofBytes(name, finalShape, values);
        }
        ByteBuffer buffer = ByteBuffer.allocate(elements.size() * type.size()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < elements.size(); i++) {
            try {
                put(buffer, type, elements.get(i));
            } catch (BadElement bad) {
                throw elementError(name, type, elementPointer(pointer, nestedShape, i), i, elements.get(i));
            }
        }
        buffer.flip();
        return Tensor.of(name, type, finalShape, buffer);
    }

    /** Flattens nested arrays, checking they are rectangular; returns the nesting's shape. */
    private static long[] flatten(JsonNode data, String pointer, List<JsonNode> out) {
        if (data == null || !data.isArray()) {
            if (data != null && (data.isNumber() || data.isBoolean() || data.isTextual())) {
                out.add(data);
                return new long[0];
            }
            throw ProblemException.field(ProblemType.INVALID_INPUT, pointer,
                    "expected an array of values at " + pointer);
        }
        List<Long> dims = new ArrayList<>();
        JsonNode probe = data;
        while (probe.isArray()) {
            dims.add((long) probe.size());
            if (probe.isEmpty()) {
                break;
            }
            probe = probe.get(0);
        }
        collect(data, 0, dims, pointer, out);
        long[] shape = new long[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = dims.get(i);
        }
        return shape;
    }

    /** Pointers are only built for errors: this runs for every element of every request. */
    private static void collect(JsonNode node, int depth, List<Long> dims, String pointer, List<JsonNode> out) {
        if (!node.isArray() || node.size() != dims.get(depth)) {
            throw ProblemException.field(ProblemType.SHAPE_MISMATCH, pointer,
                    "ragged nested array at " + pointer + ": expected " + dims.get(depth) + " elements at depth "
                            + depth);
        }
        boolean leaves = depth + 1 == dims.size();
        for (int i = 0; i < node.size(); i++) {
            JsonNode child = node.get(i);
            if (!leaves) {
                collect(child, depth + 1, dims, pointer + "/" + i, out);
            } else if (child.isArray() || child.isObject() || child.isNull()) {
                String at = pointer + "/" + i;
                throw ProblemException.field(ProblemType.SHAPE_MISMATCH, at,
                        "ragged or malformed nested array at " + at + ": every row must have the same length");
            } else {
                out.add(child);
            }
        }
    }

    /** The JSON pointer of flat element {@code index} of an array nested as {@code shape} under {@code base}. */
    private static String elementPointer(String base, long[] shape, int index) {
        StringBuilder b = new StringBuilder();
        long rest = index;
        for (int d = shape.length - 1; d >= 0; d--) {
            b.insert(0, "/" + rest % shape[d]);
            rest /= shape[d];
        }
        return base + b;
    }

    /** An element that does not fit its type; the caller, who knows where it is, says so. Never escapes this class. */
    private static final class BadElement extends RuntimeException {
        static final BadElement INSTANCE = new BadElement();

        private BadElement() {
            super(null, null, false, false);
        }
    }

    private static void put(ByteBuffer buffer, DataType type, JsonNode e) {
        switch (type) {
            case BOOL -> {
                if (!e.isBoolean()) {
                    throw BadElement.INSTANCE;
                }
                buffer.put((byte) (e.booleanValue() ? 1 : 0));
            }
            case FP16 -> buffer.putShort(Float.floatToFloat16((float) floating(e)));
            case FP32 -> buffer.putFloat((float) floating(e));
            case FP64 -> buffer.putDouble(floating(e));
            case INT8 -> buffer.put((byte) integral(e, Byte.MIN_VALUE, Byte.MAX_VALUE));
            case INT16 -> buffer.putShort((short) integral(e, Short.MIN_VALUE, Short.MAX_VALUE));
            case INT32 -> buffer.putInt((int) integral(e, Integer.MIN_VALUE, Integer.MAX_VALUE));
            case INT64 -> buffer.putLong(integral(e, Long.MIN_VALUE, Long.MAX_VALUE));
            case UINT8 -> buffer.put((byte) integral(e, 0, 0xFF));
            case UINT16 -> buffer.putShort((short) integral(e, 0, 0xFFFF));
            case UINT32 -> buffer.putInt((int) integral(e, 0, 0xFFFF_FFFFL));
            case UINT64 -> buffer.putLong(unsigned64(e));
            case BYTES -> throw new IllegalStateException("BYTES is not fixed-width");
        }
    }

    private static double floating(JsonNode e) {
        if (e.isNumber()) {
            return e.doubleValue();
        }
        if (e.isTextual()) {
            switch (e.textValue()) {
                case "NaN": return Double.NaN;
                case "Infinity": return Double.POSITIVE_INFINITY;
                case "-Infinity": return Double.NEGATIVE_INFINITY;
                default: break;
            }
        }
        throw BadElement.INSTANCE;
    }

    private static long integral(JsonNode e, long min, long max) {
        if (e.isIntegralNumber() && e.canConvertToLong()) {
            long v = e.longValue();
            if (v >= min && v <= max) {
                return v;
            }
        } else if (e.isFloatingPointNumber()) {
            double d = e.doubleValue();
            // max + 1.0, not max: (double) Long.MAX_VALUE rounds up to 2^63, which would pass and clamp
            if (d == Math.rint(d) && d >= min && d < max + 1.0) {
                return (long) d;
            }
        }
        throw BadElement.INSTANCE;
    }

    private static long unsigned64(JsonNode e) {
        if (e.isIntegralNumber()) {
            BigInteger v = e.bigIntegerValue();
            if (v.signum() >= 0 && v.compareTo(UINT64_MAX) <= 0) {
                return v.longValue();
            }
        } else if (e.isFloatingPointNumber()) {
            double d = e.doubleValue();
            if (d == Math.rint(d) && d >= 0 && d < 0x1p64) {
                return new BigDecimal(d).toBigInteger().longValue();
            }
        }
        throw BadElement.INSTANCE;
    }

    private static ProblemException elementError(String name, DataType type, String pointer, int index, JsonNode e) {
        String shown = e.toString();
        if (shown.length() > 40) {
            shown = shown.substring(0, 40) + "...";
        }
        return ProblemException.field(ProblemType.DATATYPE_MISMATCH, pointer,
                "input '" + name + "' expects " + type + " elements, element " + index + " is " + shown);
    }

    /**
     * The fewest bytes {@link #writeNested} can write for this shape (and {@link #writeRow}, over
     * all rows, give or take the outer brackets): two per array and one per element. Saturates at
     * {@code Long.MAX_VALUE}. A writer with a size bound checks this first, so that an answer like
     * shape {@code [10^12, 0]} (no elements, but 10^12 empty rows when nested) is refused without
     * writing any of it.
     */
    public static long nestedJsonFloor(long[] shape) {
        long arrays = 0;
        long atDepth = 1; // arrays written at this depth: the product of the dimensions above it
        for (int d = 0; d < shape.length; d++) {
            arrays = saturatedAdd(arrays, atDepth);
            if (shape[d] == 0) {
                return saturatedMultiply(arrays, 2); // nothing is written below an empty dimension
            }
            atDepth = saturatedMultiply(atDepth, shape[d]);
        }
        return saturatedAdd(saturatedMultiply(arrays, 2), atDepth);
    }

    /** The fewest bytes {@link #writeFlat} can write for {@code count} elements. */
    public static long flatJsonFloor(long count) {
        return saturatedAdd(count, 2);
    }

    private static long saturatedAdd(long a, long b) {
        return a > Long.MAX_VALUE - b ? Long.MAX_VALUE : a + b;
    }

    private static long saturatedMultiply(long a, long b) {
        return b != 0 && a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
    }

    /** Writes the tensor's elements as one flat JSON array (the V2 protocol's layout). */
    public static void writeFlat(JsonGenerator g, Tensor t) throws IOException {
        g.writeStartArray();
        long count = t.elementCount();
        ByteBuffer data = t.datatype() == DataType.BYTES ? null : t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            writeElement(g, t, data, i);
        }
        g.writeEndArray();
    }

    /**
     * Writes the tensor as nested JSON arrays following its shape (a scalar as a bare value). An
     * empty dimension is written as {@code []} with nothing below it; the dimensions above it are
     * still written out (shape {@code [3, 0]} is {@code [[],[],[]]}), so a caller with a bound
     * checks {@link #nestedJsonFloor} first.
     */
    public static void writeNested(JsonGenerator g, Tensor t) throws IOException {
        ByteBuffer data = t.datatype() == DataType.BYTES ? null : t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        writeNested(g, t, data, 0, 0);
    }

    /** Writes row {@code row} of the tensor (the sub-tensor below the first dimension), nested. */
    public static void writeRow(JsonGenerator g, Tensor t, long row) throws IOException {
        ByteBuffer data = t.datatype() == DataType.BYTES ? null : t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long[] shape = t.shape();
        long rowSize = Tensor.elementCount(Arrays.copyOfRange(shape, 1, shape.length));
        writeNested(g, t, data, 1, row * rowSize);
    }

    private static long writeNested(JsonGenerator g, Tensor t, ByteBuffer data, int depth, long index) throws IOException {
        long[] shape = t.shape();
        if (depth == shape.length) {
            writeElement(g, t, data, (int) index);
            return index + 1;
        }
        g.writeStartArray();
        // An empty dimension ends the descent here: its loop runs no times.
        for (long i = 0; i < shape[depth]; i++) {
            index = writeNested(g, t, data, depth + 1, index);
        }
        g.writeEndArray();
        return index;
    }

    private static void writeElement(JsonGenerator g, Tensor t, ByteBuffer data, int i) throws IOException {
        switch (t.datatype()) {
            case BOOL -> g.writeBoolean(data.get(i) != 0);
            case UINT8 -> g.writeNumber(data.get(i) & 0xFF);
            case UINT16 -> g.writeNumber(data.getShort(i * 2) & 0xFFFF);
            case UINT32 -> g.writeNumber(data.getInt(i * 4) & 0xFFFF_FFFFL);
            case UINT64 -> g.writeNumber(Long.toUnsignedString(data.getLong(i * 8)));
            case INT8 -> g.writeNumber(data.get(i));
            case INT16 -> g.writeNumber(data.getShort(i * 2));
            case INT32 -> g.writeNumber(data.getInt(i * 4));
            case INT64 -> g.writeNumber(data.getLong(i * 8));
            case FP16 -> writeFloat(g, Float.float16ToFloat(data.getShort(i * 2)));
            case FP32 -> writeFloat(g, data.getFloat(i * 4));
            case FP64 -> writeDouble(g, data.getDouble(i * 8));
            case BYTES -> g.writeString(new String(t.bytes().get(i), StandardCharsets.UTF_8));
        }
    }

    private static void writeFloat(JsonGenerator g, float v) throws IOException {
        if (Float.isFinite(v)) {
            g.writeNumber(v);
        } else {
            g.writeString(Float.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static void writeDouble(JsonGenerator g, double v) throws IOException {
        if (Double.isFinite(v)) {
            g.writeNumber(v);
        } else {
            g.writeString(Double.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        }
    }
}
