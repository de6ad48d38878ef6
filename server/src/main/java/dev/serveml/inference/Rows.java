package dev.serveml.inference;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Stacking the rows of several requests into one set of inputs along dimension 0, and cutting a
 * model's answer back into one answer per request. Stateless.
 */
final class Rows {
    private Rows() {
    }

    /**
     * What requests must share to be stacked: input names, element types, dimensions after the
     * first, and the outputs asked for; null when the request cannot be stacked at all (a scalar
     * input, inputs disagreeing on their row count, or no rows).
     */
    static String stackKey(List<Tensor> inputs, Set<String> outputs) {
        if (inputs.isEmpty() || rowCount(inputs) <= 0) {
            return null;
        }
        StringBuilder key = new StringBuilder();
        List<Tensor> sorted = new ArrayList<>(inputs);
        sorted.sort((a, b) -> a.name().compareTo(b.name()));
        for (Tensor t : sorted) {
            long[] shape = t.shape();
            key.append(t.name()).append('\u0000').append(t.datatype())
                    .append(Arrays.toString(Arrays.copyOfRange(shape, 1, shape.length))).append('\u0000');
        }
        key.append("->").append(new TreeSet<>(outputs));
        return key.toString();
    }

    /** The rows every input shares along dimension 0, or -1 if they do not share one. */
    static long rowCount(List<Tensor> inputs) {
        long rows = -1;
        for (Tensor t : inputs) {
            if (t.shape().length == 0 || (rows >= 0 && t.shape()[0] != rows)) {
                return -1;
            }
            rows = t.shape()[0];
        }
        return rows;
    }

    /** Concatenates same-keyed requests' inputs along dimension 0, in request order. */
    static List<Tensor> stack(List<List<Tensor>> requests) {
        List<Tensor> first = requests.get(0);
        List<Tensor> stacked = new ArrayList<>(first.size());
        for (Tensor template : first) {
            List<Tensor> parts = new ArrayList<>(requests.size());
            for (List<Tensor> inputs : requests) {
                parts.add(inputs.stream().filter(t -> t.name().equals(template.name())).findFirst().orElseThrow());
            }
            stacked.add(concat(template, parts));
        }
        return stacked;
    }

    private static Tensor concat(Tensor template, List<Tensor> parts) {
        long rows = 0;
        for (Tensor t : parts) {
            rows += t.shape()[0];
        }
        long[] shape = template.shape().clone();
        shape[0] = rows;
        if (template.datatype() == DataType.BYTES) {
            List<byte[]> elements = new ArrayList<>();
            parts.forEach(t -> elements.addAll(t.bytes()));
            return new Tensor(template.name(), DataType.BYTES, shape, null, elements);
        }
        int size = 0;
        for (Tensor t : parts) {
            size = Math.addExact(size, t.data().remaining());
        }
        ByteBuffer data = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        parts.forEach(t -> data.put(t.data().duplicate()));
        return Tensor.of(template.name(), template.datatype(), shape, data.flip());
    }

    /**
     * Cuts a stacked answer into one answer per request, by the requests' row counts.
     *
     * @return the answers in request order, or null when some output does not have exactly one
     *         entry per stacked row along dimension 0 (the caller then runs the requests one by one)
     */
    static List<Map<String, Output>> split(Map<String, Output> answer, long[] rows) {
        long total = 0;
        for (long r : rows) {
            total += r;
        }
        for (Output o : answer.values()) {
            long first = switch (o) {
                case Tensor t -> t.shape().length == 0 ? -1 : t.shape()[0];
                case MapSequence m -> m.rows().size();
            };
            if (first != total) {
                return null;
            }
        }
        List<Map<String, Output>> answers = new ArrayList<>(rows.length);
        for (int i = 0; i < rows.length; i++) {
            answers.add(new LinkedHashMap<>());
        }
        for (Output o : answer.values()) {
            long offset = 0;
            for (int i = 0; i < rows.length; i++) {
                answers.get(i).put(o.name(), slice(o, offset, rows[i], total));
                offset += rows[i];
            }
        }
        return answers;
    }

    private static Output slice(Output output, long from, long count, long total) {
        return switch (output) {
            case MapSequence m -> new MapSequence(m.name(), m.rows().subList((int) from, (int) (from + count)));
            case Tensor t -> {
                long[] shape = t.shape().clone();
                shape[0] = count;
                long perRow = t.elementCount() / total;
                if (t.datatype() == DataType.BYTES) {
                    yield new Tensor(t.name(), DataType.BYTES, shape, null,
                            t.bytes().subList((int) (from * perRow), (int) ((from + count) * perRow)));
                }
                int width = t.datatype().size();
                ByteBuffer data = t.data().duplicate();
                data.position(Math.toIntExact(from * perRow * width));
                data.limit(Math.toIntExact((from + count) * perRow * width));
                yield Tensor.of(t.name(), t.datatype(), shape, data);
            }
        };
    }
}
