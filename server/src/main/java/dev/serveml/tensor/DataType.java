package dev.serveml.tensor;

import java.util.Locale;
import java.util.Optional;

/**
 * Tensor element types, named as the Open Inference Protocol names them. {@link #size()} is the
 * width of one element in the raw little-endian layout; BYTES has no fixed width.
 */
public enum DataType {
    BOOL(1), UINT8(1), UINT16(2), UINT32(4), UINT64(8),
    INT8(1), INT16(2), INT32(4), INT64(8),
    FP16(2), FP32(4), FP64(8), BYTES(-1);

    private final int size;

    DataType(int size) {
        this.size = size;
    }

    /** Bytes per element in the raw layout, or -1 for BYTES. */
    public int size() {
        return size;
    }

    public boolean isFloatingPoint() {
        return this == FP16 || this == FP32 || this == FP64;
    }

    public boolean isUnsigned() {
        return this == UINT8 || this == UINT16 || this == UINT32 || this == UINT64;
    }

    /** Looks up a protocol name such as {@code "FP32"}; case-sensitive, as the protocol is. */
    public static Optional<DataType> fromName(String name) {
        if (name == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(valueOf(name));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** The lower-case name used in the native API's signatures ({@code "fp32"}). */
    public String lowerName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
