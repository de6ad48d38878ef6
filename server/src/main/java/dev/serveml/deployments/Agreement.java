package dev.serveml.deployments;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Whether a shadow's answer agrees with the primary's: the same outputs with the same shapes,
 * floating-point elements within {@value #TOLERANCE} of each other, everything else (labels,
 * integers, text) exactly equal.
 */
final class Agreement {
    static final double TOLERANCE = 1e-6;

    private Agreement() {
    }

    static boolean agree(Map<String, Output> primary, Map<String, Output> shadow) {
        if (!primary.keySet().equals(shadow.keySet())) {
            return false;
        }
        for (Map.Entry<String, Output> e : primary.entrySet()) {
            if (!agree(e.getValue(), shadow.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private static boolean agree(Output a, Output b) {
        return switch (a) {
            case Tensor t -> b instanceof Tensor u && tensors(t, u);
            case MapSequence m -> b instanceof MapSequence n && maps(m.rows(), n.rows());
        };
    }

    private static boolean tensors(Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            return false;
        }
        if (a.datatype().isFloatingPoint() && b.datatype().isFloatingPoint() && a.datatype() != DataType.FP16
                && b.datatype() != DataType.FP16) {
            int n = (int) a.elementCount();
            for (int i = 0; i < n; i++) {
                if (Math.abs(element(a, i) - element(b, i)) > TOLERANCE) {
                    return false;
                }
            }
            return true;
        }
        return a.datatype() == b.datatype() && Arrays.equals(a.rawBytes(), b.rawBytes());
    }

    private static double element(Tensor t, int i) {
        ByteBuffer d = t.data();
        return t.datatype() == DataType.FP32 ? d.getFloat(i * 4) : d.getDouble(i * 8);
    }

    private static boolean maps(List<Map<String, Double>> a, List<Map<String, Double>> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int r = 0; r < a.size(); r++) {
            Map<String, Double> x = a.get(r);
            Map<String, Double> y = b.get(r);
            if (!x.keySet().equals(y.keySet())) {
                return false;
            }
            for (Map.Entry<String, Double> e : x.entrySet()) {
                if (Math.abs(e.getValue() - y.get(e.getKey())) > TOLERANCE) {
                    return false;
                }
            }
        }
        return true;
    }
}
