package dev.serveml.tensor;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A sequence of maps, one per row, as ONNX-ML classifiers answer with ZipMap: class label (as
 * text, in the model's class order) to score.
 */
public record MapSequence(String name, List<Map<String, Double>> rows) implements Output {
    public MapSequence {
        Objects.requireNonNull(name);
        rows = List.copyOf(rows);
    }
}
