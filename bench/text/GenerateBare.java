// The bare limit for text generation: one greedy loop over the same ONNX session settings as
// ServeML's (intra-op 1, inter-op 1, all optimisations), with the same KV cache handling (the
// prompt once with a past of 0 tokens, then only the new token with the previous call's presents as
// its past, never copied; at most the context's room), in process, no HTTP, no decoding to text, nothing else. One sequence at
// a time, as many tokens each as the served streams ask for, the same prompts in turn.
// Run against the server jar's classes:
//   java -cp server/target/serveml.jar bench/text/GenerateBare.java REPO PROMPTS SECONDS WARMUP MAX_TOKENS [BATCH]
// (BATCH: that many copies of each prompt stepped through each call together, the ceiling of batching)
// prints one JSON line: tokens per second and the time to the first token (p50, ms).
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

public class GenerateBare {
    public static void main(String[] args) throws Exception {
        System.setProperty("DJL_OFFLINE", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        Path repo = Path.of(args[0]);
        List<String> prompts = Files.readAllLines(Path.of(args[1])).stream().filter(l -> !l.isEmpty()).toList();
        double seconds = Double.parseDouble(args[2]);
        double warmup = Double.parseDouble(args[3]);
        int maxTokens = Integer.parseInt(args[4]);
        int batch = args.length > 5 ? Integer.parseInt(args[5]) : 1; // B copies of a prompt stepped together
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        OrtSession session = env.createSession(repo.resolve("onnx/model.onnx").toString(), options);
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(repo)
                .optAddSpecialTokens(false).optTruncation(false).optPadding(false).build();
        List<String> past = new ArrayList<>();
        List<String> present = new ArrayList<>();
        for (int l = 0; session.getInputNames().contains("past_key_values." + l + ".key"); l++) {
            for (String kv : List.of("key", "value")) {
                past.add("past_key_values." + l + "." + kv);
                present.add("present." + l + "." + kv);
            }
        }
        long[] shape = ((TensorInfo) session.getInputInfo().get(past.get(0)).getInfo()).getShape();
        int context = new com.fasterxml.jackson.databind.ObjectMapper().readTree(repo.resolve("config.json").toFile())
                .path("n_positions").asInt(1024);
        Loop loop = new Loop(env, session, past, present, shape[1], shape[3], context, batch);
        run(loop, tokenizer, prompts, warmup, maxTokens, new ArrayList<>());
        List<Double> ttft = new ArrayList<>();
        long t0 = System.nanoTime();
        long tokens = run(loop, tokenizer, prompts, seconds, maxTokens, ttft);
        double wall = (System.nanoTime() - t0) / 1e9;
        ttft.sort(Double::compare);
        System.out.printf("{\"tokens_per_s\": %.1f, \"ttft_p50_ms\": %.3f, \"tokens\": %d, \"wall_s\": %.2f}%n",
                tokens / wall, ttft.get(ttft.size() / 2), tokens, wall);
    }

    static long run(Loop loop, HuggingFaceTokenizer tokenizer, List<String> prompts, double seconds, int maxTokens,
                    List<Double> ttft) throws Exception {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long tokens = 0;
        for (int i = 0; System.nanoTime() < end; i++) {
            long[] ids = tokenizer.encode(prompts.get(i % prompts.size())).getIds();
            tokens += loop.generate(ids, maxTokens, ttft);
        }
        return tokens;
    }

    record Loop(OrtEnvironment env, OrtSession session, List<String> past, List<String> present, long heads,
                long headSize, int context, int batch) {
        int generate(long[] prompt, int maxTokens, List<Double> ttft) throws Exception {
            long started = System.nanoTime();
            int budget = Math.min(maxTokens, context - prompt.length); // as ServeML bounds it
            OrtSession.Result previous = null;
            long[] step = prompt;
            int length = 0;
            Set<String> wanted = new LinkedHashSet<>();
            wanted.add("logits");
            wanted.addAll(present);
            try {
                for (int n = 0; n < budget; n++) {
                    Map<String, OnnxTensor> feed = new HashMap<>();
                    List<OnnxTensor> owned = new ArrayList<>();
                    long[] mask = new long[length + step.length];
                    Arrays.fill(mask, 1);
                    long[] positions = new long[step.length];
                    for (int i = 0; i < positions.length; i++) {
                        positions[i] = length + i;
                    }
                    owned.add(OnnxTensor.createTensor(env, LongBuffer.wrap(tile(step)), new long[]{batch, step.length}));
                    feed.put("input_ids", owned.getLast());
                    owned.add(OnnxTensor.createTensor(env, LongBuffer.wrap(tile(mask)), new long[]{batch, mask.length}));
                    feed.put("attention_mask", owned.getLast());
                    owned.add(OnnxTensor.createTensor(env, LongBuffer.wrap(tile(positions)), new long[]{batch, step.length}));
                    feed.put("position_ids", owned.getLast());
                    for (int i = 0; i < past.size(); i++) {
                        if (previous == null) {
                            owned.add(OnnxTensor.createTensor(env, FloatBuffer.allocate(0), new long[]{batch, heads, 0, headSize}));
                            feed.put(past.get(i), owned.getLast());
                        } else {
                            OnnxValue p = previous.get(present.get(i)).orElseThrow();
                            feed.put(past.get(i), (OnnxTensor) p);
                        }
                    }
                    OrtSession.Result result = session.run(feed, wanted);
                    owned.forEach(OnnxTensor::close);
                    if (previous != null) {
                        previous.close();
                    }
                    previous = result;
                    length += step.length;
                    FloatBuffer logits = ((OnnxTensor) result.get("logits").orElseThrow()).getFloatBuffer();
                    int vocabulary = logits.remaining() / step.length / batch;
                    int base = (step.length - 1) * vocabulary;
                    int best = 0;
                    for (int i = 1; i < vocabulary; i++) {
                        if (logits.get(base + i) > logits.get(base + best)) {
                            best = i;
                        }
                    }
                    if (n == 0) {
                        ttft.add((System.nanoTime() - started) / 1e6);
                    }
                    step = new long[]{best};
                }
            } finally {
                if (previous != null) {
                    previous.close();
                }
            }
            return budget * batch;
        }

        /** B copies of a row, one after another (every sequence of the batch the same). */
        long[] tile(long[] row) {
            long[] out = new long[row.length * batch];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(row, 0, out, b * row.length, row.length);
            }
            return out;
        }
    }
}
