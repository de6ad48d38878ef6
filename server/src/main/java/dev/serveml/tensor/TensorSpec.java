package dev.serveml.tensor;

import java.util.List;
import java.util.Objects;

/**
 * One input or output of a model's signature.
 *
 * @param name     the model's name for it
 * @param datatype element type (for a sequence of maps: the map's value type)
 * @param shape    dimensions, -1 where the model accepts any size
 * @param kind     {@code tensor}, or {@code sequence_of_maps} for ONNX-ML map outputs
 * @param columns  names of the last dimension's entries (a tabular model's feature names), or empty
 */
public record TensorSpec(String name, DataType datatype, List<Long> shape, String kind, List<String> columns) {
    public static final String TENSOR = "tensor";
    public static final String SEQUENCE_OF_MAPS = "sequence_of_maps";

    public TensorSpec {
        Objects.requireNonNull(name);
        Objects.requireNonNull(datatype);
        shape = List.copyOf(shape);
        Objects.requireNonNull(kind);
        columns = columns == null ? List.of() : List.copyOf(columns);
    }

    public TensorSpec(String name, DataType datatype, List<Long> shape, String kind) {
        this(name, datatype, shape, kind, List.of());
    }

    public static TensorSpec tensor(String name, DataType datatype, List<Long> shape) {
        return new TensorSpec(name, datatype, shape, TENSOR);
    }

    /** True when the first dimension is dynamic, so rows from several requests may be stacked. */
    public boolean batchable() {
        return !shape.isEmpty() && shape.get(0) == -1;
    }
}
