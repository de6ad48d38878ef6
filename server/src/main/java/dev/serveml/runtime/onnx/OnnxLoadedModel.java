package dev.serveml.runtime.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxMap;
import ai.onnxruntime.OnnxSequence;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadedModel;

import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One ONNX Runtime session; {@code OrtSession.run} is thread-safe, so callers share it. */
final class OnnxLoadedModel implements LoadedModel {
    /**
     * Direct memory for the inputs of a call, kept by each thread for its next call: a direct
     * buffer of its own per input cost every call a native allocation, zeroing and a cleaner (6%
     * of an inference thread's samples on the iris forest). Reuse is safe because the input
     * tensors, the only things that point into it, are closed before the call returns. Inputs
     * past {@link #SCRATCH_BYTES}, or past the first {@link #SCRATCH_SLOTS}, get buffers of their
     * own, so a thread keeps at most their product.
     */
    private static final int SCRATCH_SLOTS = 8;
    private static final int SCRATCH_BYTES = 64 * 1024;
    private static final ThreadLocal<ByteBuffer[]> SCRATCH = ThreadLocal.withInitial(() -> new ByteBuffer[SCRATCH_SLOTS]);

    private final OrtEnvironment environment;
    private final OrtSession session;
    private final Signature signature;
    private final long memoryBytes;
    private final int instances;
    private final long maxOutputElements;
    private final Runnable onClose;

    /**
     * @param instances         concurrent runs of the session its deployment asked for; 0 for the server's default
     * @param maxOutputElements the most elements one answer may hold, all outputs together
     * @param onClose           run once the session is closed (removes the model's private directory)
     */
    OnnxLoadedModel(OrtEnvironment environment, OrtSession session, Signature signature, long fileBytes,
                    int instances, long maxOutputElements, Runnable onClose) {
        this.instances = instances;
        this.maxOutputElements = maxOutputElements;
        this.onClose = onClose;
        this.environment = environment;
        this.session = session;
        this.signature = signature;
        // Initializers are copied into the session's arena; optimised graphs roughly double them.
        this.memoryBytes = fileBytes * 2 + (1 << 20);
    }

    @Override
    public Signature signature() {
        return signature;
    }

    @Override
    public long memoryBytes() {
        return memoryBytes;
    }

    @Override
    public int concurrency() {
        return instances;
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs) {
        Map<String, OnnxTensor> feed = new HashMap<>(inputs.size() * 2);
        try {
            for (int i = 0; i < inputs.size(); i++) {
                feed.put(inputs.get(i).name(), toOnnx(inputs.get(i), i));
            }
            try (OrtSession.Result result = outputs.isEmpty() ? session.run(feed) : session.run(feed, outputs)) {
                requireBounded(result);
                // Read in signature order; ONNX Runtime produces nothing its signature does not list.
                Map<String, Output> answer = new LinkedHashMap<>();
                signature.inOutputOrder(result, Map.Entry::getKey, outputs, false)
                        .forEach((name, v) -> answer.put(name, fromOnnx(name, v.getValue())));
                return answer;
            }
        } catch (OrtException e) {
            throw new ProblemException(ProblemType.INFERENCE_FAILED,
                    "the model could not compute an answer for this input", e);
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * Refuses an answer with more elements than the server allows before any of it is copied out
     * of ONNX Runtime's memory: a model may compute a huge tensor from a small input.
     */
    private void requireBounded(OrtSession.Result result) {
        long total = 0;
        for (Map.Entry<String, OnnxValue> e : result) {
            if (e.getValue() instanceof OnnxTensor tensor) {
                long[] shape = tensor.getInfo().getShape();
                long count;
                try {
                    count = Tensor.elementCount(shape);
                } catch (IllegalArgumentException ex) {
                    count = Long.MAX_VALUE;
                }
                total = count > Long.MAX_VALUE - total ? Long.MAX_VALUE : total + count;
                if (total > maxOutputElements) {
                    throw new ProblemException(ProblemType.OUTPUT_TOO_LARGE, "the model's answer holds more than "
                            + maxOutputElements + " elements (output '" + e.getKey() + "' has shape "
                            + java.util.Arrays.toString(shape) + "); this server answers at most " + maxOutputElements
                            + " (SERVEML_MAX_OUTPUT_ELEMENTS). Send fewer rows per request.");
                }
            }
        }
    }

    /** @param slot the input's position in the call, which picks its scratch buffer */
    private OnnxTensor toOnnx(Tensor t, int slot) throws OrtException {
        long[] shape = t.shape();
        if (t.datatype() == DataType.BYTES) {
            String[] values = new String[t.bytes().size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = new String(t.bytes().get(i), StandardCharsets.UTF_8);
            }
            return OnnxTensor.createTensor(environment, values, shape);
        }
        OnnxJavaType type = switch (t.datatype()) {
            case BOOL -> OnnxJavaType.BOOL;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT8 -> OnnxJavaType.INT8;
            case INT16 -> OnnxJavaType.INT16;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case FP16 -> OnnxJavaType.FLOAT16;
            case FP32 -> OnnxJavaType.FLOAT;
            case FP64 -> OnnxJavaType.DOUBLE;
            case UINT16, UINT32, UINT64, BYTES -> throw new ProblemException(ProblemType.DATATYPE_MISMATCH,
                    "ONNX Runtime's Java API cannot take " + t.datatype() + " inputs (input '" + t.name() + "')");
        };
        ByteBuffer direct = scratch(slot, t.data().remaining());
        direct.put(t.data().duplicate()).flip();
        return OnnxTensor.createTensor(environment, direct, shape, type);
    }

    /** An empty direct buffer of {@code size} bytes' room, this thread's own for {@code slot} when it may keep one. */
    private static ByteBuffer scratch(int slot, int size) {
        if (slot >= SCRATCH_SLOTS || size > SCRATCH_BYTES) {
            return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
        }
        ByteBuffer[] mine = SCRATCH.get();
        ByteBuffer kept = mine[slot];
        if (kept == null || kept.capacity() < size) {
            kept = ByteBuffer.allocateDirect(Math.max(size, 1024)).order(ByteOrder.nativeOrder());
            mine[slot] = kept;
        }
        kept.clear().limit(size);
        return kept;
    }

    private static Output fromOnnx(String name, OnnxValue value) {
        try {
            if (value instanceof OnnxTensor tensor) {
                long[] shape = tensor.getInfo().getShape();
                DataType type = OnnxSignatures.dataType(name, tensor.getInfo().onnxType);
                if (type == DataType.BYTES) {
                    List<byte[]> elements = new ArrayList<>();
                    flattenStrings(tensor.getValue(), elements);
                    return Tensor.ofBytes(name, shape, elements);
                }
                ByteBuffer raw = tensor.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                return Tensor.of(name, type, shape, raw);
            }
            if (value instanceof OnnxSequence sequence) {
                List<Map<String, Double>> rows = new ArrayList<>();
                for (OnnxValue item : sequence.getValue()) {
                    if (!(item instanceof OnnxMap map)) {
                        throw new IllegalStateException("sequence output '" + name + "' holds " + item.getType());
                    }
                    rows.add(sortedRow(map.getValue()));
                }
                return new MapSequence(name, rows);
            }
            throw new IllegalStateException("output '" + name + "' has the unsupported type " + value.getType());
        } catch (OrtException e) {
            throw new IllegalStateException("cannot read output '" + name + "'", e);
        }
    }

    /** ZipMap's map has no order in Java; give the class order back (numeric labels by value). */
    private static Map<String, Double> sortedRow(Map<?, ?> map) {
        List<? extends Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
        entries.sort(Comparator.comparing(e -> e.getKey(), OnnxLoadedModel::compareKeys));
        Map<String, Double> row = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : entries) {
            // A float score printed through double shows float noise (0.10000000149); keep its own digits.
            double score = e.getValue() instanceof Float f ? Double.parseDouble(f.toString())
                    : ((Number) e.getValue()).doubleValue();
            row.put(String.valueOf(e.getKey()), score);
        }
        return row;
    }

    private static int compareKeys(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return Long.compare(x.longValue(), y.longValue());
        }
        return String.valueOf(a).compareTo(String.valueOf(b));
    }

    private static void flattenStrings(Object value, List<byte[]> out) {
        if (value instanceof String s) {
            out.add(s.getBytes(StandardCharsets.UTF_8));
        } else if (value != null && value.getClass().isArray()) {
            for (int i = 0; i < Array.getLength(value); i++) {
                flattenStrings(Array.get(value, i), out);
            }
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("cannot close ONNX session", e);
        } finally {
            onClose.run();
        }
    }
}
