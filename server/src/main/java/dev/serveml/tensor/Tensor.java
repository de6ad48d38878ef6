package dev.serveml.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A named tensor in one representation for every protocol and runtime: fixed-width elements as
 * raw little-endian bytes in row-major order (exactly the Open Inference Protocol's binary layout,
 * so the binary extension is a copy), BYTES elements as a list of byte strings.
 *
 * <p>Immutable by convention: callers never write into {@link #data()}; use
 * {@link #data()}{@code .duplicate()} to read it with a position of one's own.
 *
 * @param name     tensor name
 * @param datatype element type
 * @param shape    dimensions, each &ge; 0
 * @param data     raw elements for fixed-width types (little-endian), null for BYTES
 * @param bytes    elements for BYTES, null otherwise
 */
public record Tensor(String name, DataType datatype, long[] shape, ByteBuffer data, List<byte[]> bytes)
        implements Output {

    public Tensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(datatype, "datatype");
        Objects.requireNonNull(shape, "shape");
        long count = elementCount(shape);
        if (datatype == DataType.BYTES) {
            Objects.requireNonNull(bytes, "bytes");
            if (data != null || bytes.size() != count) {
                throw new IllegalArgumentException("BYTES tensor '" + name + "' has " + bytes.size()
                        + " elements for shape " + Arrays.toString(shape));
            }
        } else {
            Objects.requireNonNull(data, "data");
            if (bytes != null || data.remaining() != Math.multiplyExact(count, datatype.size())) {
                throw new IllegalArgumentException("tensor '" + name + "' has " + data.remaining()
                        + " bytes for shape " + Arrays.toString(shape) + " of " + datatype);
            }
            data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    public static Tensor of(String name, DataType datatype, long[] shape, ByteBuffer data) {
        return new Tensor(name, datatype, shape, data, null);
    }

    public static Tensor ofBytes(String name, long[] shape, List<byte[]> elements) {
        return new Tensor(name, DataType.BYTES, shape, null, List.copyOf(elements));
    }

    public static Tensor ofFloats(String name, long[] shape, float... values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return of(name, DataType.FP32, shape, buffer);
    }

    /**
     * The elements in the binary layout shared by the Open Inference Protocol's binary extension
     * and the worker protocol: fixed-width elements raw little-endian, BYTES elements each
     * preceded by their 4-byte little-endian length.
     */
    public byte[] rawBytes() {
        if (datatype != DataType.BYTES) {
            ByteBuffer copy = data.duplicate();
            byte[] out = new byte[copy.remaining()];
            copy.get(out);
            return out;
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(byteSize() + 4L * bytes.size()))
                .order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] element : bytes) {
            out.putInt(element.length).put(element);
        }
        return out.array();
    }

    /**
     * Reads a tensor from {@link #rawBytes()}'s layout.
     *
     * @throws IllegalArgumentException when the bytes do not hold exactly what the shape needs
     */
    public static Tensor fromRawBytes(String name, DataType datatype, long[] shape, byte[] raw, int offset, int length) {
        long count = elementCount(shape);
        if (datatype != DataType.BYTES) {
            if (length != count * datatype.size()) {
                throw new IllegalArgumentException("binary data is " + length + " bytes but shape "
                        + Arrays.toString(shape) + " of " + datatype + " needs " + count * datatype.size());
            }
            ByteBuffer copy = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
            copy.put(raw, offset, length).flip();
            return of(name, datatype, shape, copy);
        }
        List<byte[]> elements = new java.util.ArrayList<>();
        ByteBuffer in = ByteBuffer.wrap(raw, offset, length).order(ByteOrder.LITTLE_ENDIAN);
        while (in.remaining() >= 4) {
            int size = in.getInt();
            if (size < 0 || size > in.remaining()) {
                throw new IllegalArgumentException("BYTES element " + elements.size() + " claims " + size
                        + " bytes but only " + in.remaining() + " remain");
            }
            byte[] element = new byte[size];
            in.get(element);
            elements.add(element);
        }
        if (in.hasRemaining() || elements.size() != count) {
            throw new IllegalArgumentException("binary BYTES data holds " + elements.size() + " elements, shape needs "
                    + count);
        }
        return ofBytes(name, shape, elements);
    }

    /** The same elements under another name. */
    public Tensor renamed(String newName) {
        return new Tensor(newName, datatype, shape, data, bytes);
    }

    public long elementCount() {
        return elementCount(shape);
    }

    /** Size of the element data in bytes (BYTES: the sum of element lengths). */
    public long byteSize() {
        if (datatype != DataType.BYTES) {
            return data.remaining();
        }
        long total = 0;
        for (byte[] element : bytes) {
            total += element.length;
        }
        return total;
    }

    /**
     * The number of elements a shape holds. A shape with a 0 anywhere holds none, whatever its
     * other dimensions ({@code [10^12, 10^12, 0]} is 0, not an overflow).
     *
     * @throws IllegalArgumentException for a negative dimension or a product past {@code Long.MAX_VALUE}
     */
    public static long elementCount(long[] shape) {
        boolean empty = false;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            empty |= dim == 0;
        }
        if (empty) {
            return 0;
        }
        long count = 1;
        for (long dim : shape) {
            if (count > Long.MAX_VALUE / dim) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds more than "
                        + Long.MAX_VALUE + " elements");
            }
            count *= dim;
        }
        return count;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && name.equals(t.name) && datatype == t.datatype
                && Arrays.equals(shape, t.shape) && Objects.equals(data, t.data) && bytesEqual(bytes, t.bytes);
    }

    private static boolean bytesEqual(List<byte[]> a, List<byte[]> b) {
        if (a == null || b == null) {
            return a == b;
        }
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, datatype, Arrays.hashCode(shape));
    }

    @Override
    public String toString() {
        return "Tensor[" + name + ", " + datatype + ", " + Arrays.toString(shape) + "]";
    }
}
