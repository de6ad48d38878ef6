package dev.serveml.tensor;

/** One named model output: a tensor, or (ONNX-ML ZipMap and friends) a sequence of maps. */
public sealed interface Output permits Tensor, MapSequence {
    String name();
}
