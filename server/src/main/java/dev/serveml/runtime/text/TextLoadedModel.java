package dev.serveml.runtime.text;

import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face repository in memory, serving its one {@link TextTask}: the task gives the
 * signature, checks each call and answers it; this class is what the registry and the batcher see.
 */
final class TextLoadedModel implements LoadedModel {
    /** Texts one request may send (see {@link TextTask#MAX_TEXTS}). */
    static final int MAX_TEXTS = TextTask.MAX_TEXTS;

    private final TextTask task;
    private final Map<String, Object> metadata;
    private final long memoryBytes;
    private final int instances;
    private final int maxLength;
    private final Runnable onClose;

    /**
     * @param fileBytes the repository's size on disk
     * @param instances concurrent calls its deployment asked for; 0 for the server's default
     * @param onClose   run once the model is closed (removes its private directory)
     */
    TextLoadedModel(TextTask task, Map<String, Object> metadata, long fileBytes, int instances, Runnable onClose) {
        this.task = task;
        this.metadata = Map.copyOf(metadata);
        // ONNX Runtime's arena roughly doubles the weights; the tokenizer holds its vocabulary once.
        this.memoryBytes = fileBytes * 2 + (1 << 20);
        this.instances = instances;
        this.maxLength = metadata.get("max_length") instanceof Integer n && n > 0 ? n : 512;
        this.onClose = onClose;
    }

    /** The task it serves, for a caller that needs more than a call (a generation's per-token listener). */
    TextTask task() {
        return task;
    }

    @Override
    public Signature signature() {
        return task.signature();
    }

    @Override
    public Map<String, Object> metadata() {
        return metadata;
    }

    @Override
    public boolean batchable() {
        return task.batchable();
    }

    /**
     * A call is padded to its longest row and costs about its length (attention more), so rows are
     * batched with others of similar length: groups by the longest row's UTF-8 bytes (all its texts
     * together: a pair's two, a question and its context) in powers of two (1-16, 17-32, 33-64, ...;
     * a call pads each member by less than 2x). Past 8 bytes per token of the model's maximum every
     * row is truncated to the same length, so those share one group.
     */
    @Override
    public int batchGroup(List<Tensor> inputs, Parameters parameters) {
        long longest = 1;
        int rows = inputs.isEmpty() ? 0 : inputs.getFirst().bytes().size();
        for (int row = 0; row < rows; row++) {
            long bytes = 0;
            for (Tensor t : inputs) {
                if (row < t.bytes().size()) {
                    bytes += t.bytes().get(row).length;
                }
            }
            longest = Math.max(longest, bytes);
        }
        int bytes = (int) Math.max(1, Math.min(longest, 8L * maxLength));
        return 33 - Integer.numberOfLeadingZeros((bytes - 1) >> 4);
    }

    @Override
    public java.util.Optional<Scheduled> scheduled() {
        return task instanceof TextGenerator g
                ? java.util.Optional.of((inputs, outputs, parameters, sink) -> g.submit(inputs, parameters, sink))
                : java.util.Optional.empty();
    }

    /** A generator's calls in flight: as many as its decode loop steps together (each may have several rows). */
    @Override
    public int concurrency() {
        return task instanceof TextGenerator g ? Math.max(instances, g.sequences()) : instances;
    }

    @Override
    public long memoryBytes() {
        return memoryBytes;
    }

    @Override
    public void check(List<Tensor> inputs, Parameters parameters) {
        task.check(inputs, parameters);
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs) {
        return infer(inputs, outputs, Parameters.NONE);
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        return task.infer(inputs, outputs, parameters);
    }

    @Override
    public void close() {
        try {
            task.close();
        } finally {
            onClose.run();
        }
    }
}
