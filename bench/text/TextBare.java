// The bare limit for text classification: DJL's HuggingFaceTokenizer + OrtSession.run in a loop,
// in process, no HTTP, nothing else: the same work as ServeML's TextClassifier per call (encode,
// pad to the longest, build the tensors, run, softmax, sort the labels), on THREADS threads (the
// server's cores), with the same session settings (intra-op 1, inter-op 1, all optimisations).
// Also a tokenizer-only loop on one thread: what tokenizing costs per request.
// Run against the server jar's classes:
//   java -cp server/target/serveml.jar bench/text/TextBare.java NAME=REPO[,NAME=REPO] TEXTS THREADS
// then one command a line on stdin (see main), one tab-separated figure a line on stdout.
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

public class TextBare {
    record Scored(String label, double score) {
    }

    record Model(OrtEnvironment env, OrtSession session, HuggingFaceTokenizer tokenizer, boolean types,
                 List<String> labels) {
        void classify(List<String> texts) throws Exception {
            TextBare.classify(env, session, tokenizer, types, labels, texts);
        }
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("DJL_OFFLINE", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("RUST_FLAVOR", "cpu");
        List<String> texts = Files.readAllLines(Path.of(args[1]));
        int threads = Integer.parseInt(args[2]);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, Model> models = new HashMap<>();
        for (String spec : args[0].split(",")) {
            String name = spec.substring(0, spec.indexOf('='));
            models.put(name, open(env, Path.of(spec.substring(spec.indexOf('=') + 1))));
        }
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean();
        System.out.println("ready");
        System.out.flush();
        // One command a line from the harness, so that each figure is measured right beside the
        // served one it is compared with (the load of a shared machine drifts within minutes):
        //   bare|tokenize|tokenize-ids NAME BATCH SECONDS WARMUP
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            String[] c = line.trim().split("\\s+");
            if (c.length != 5) {
                continue;
            }
            Model m = models.get(c[1]);
            int batch = Integer.parseInt(c[2]);
            double seconds = Double.parseDouble(c[3]);
            double warmup = Double.parseDouble(c[4]);
            Call call = switch (c[0]) {
                case "bare" -> m::classify;
                case "tokenize" -> t -> encode(m.tokenizer(), t);
                case "tokenize-list" -> t -> m.tokenizer().batchEncode(t); // what TextClassifier calls, even for one text
                default -> t -> idsOnly(m.tokenizer(), t);
            };
            // the tokenizer is measured on one thread: its cost per request, not the machine's throughput
            int n = c[0].equals("bare") ? threads : 1;
            loop(n, warmup, batch, texts, call);
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            double perSecond = loop(n, seconds, batch, texts, call);
            double cpu = 100.0 * (os.getProcessCpuTime() - cpu0) / (System.nanoTime() - t0);
            // kind name batch texts/s calls/s us-per-call us-per-text cpu%
            System.out.printf("%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t%.0f%n", c[0], c[1], batch, perSecond * batch,
                    perSecond, 1e6 / perSecond, 1e6 / perSecond / batch, cpu);
            System.out.flush();
        }
    }

    static Model open(OrtEnvironment env, Path repo) throws Exception {
        var config = new ObjectMapper().readTree(repo.resolve("config.json").toFile());
        int maxLength = config.path("max_position_embeddings").asInt(512);
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < config.path("id2label").size(); i++) {
            labels.add(config.path("id2label").path(Integer.toString(i)).asText());
        }
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(repo)
                .optAddSpecialTokens(true).optTruncation(true).optPadding(false).optMaxLength(maxLength).build();
        OrtSession session = env.createSession(repo.resolve("onnx/model.onnx").toString(), options);
        return new Model(env, session, tokenizer, session.getInputNames().contains("token_type_ids"), labels);
    }

    interface Call {
        void run(List<String> texts) throws Exception;
    }

    /** Runs {@code call} on {@code threads} threads for {@code seconds}, each on its own texts; calls per second. */
    static double loop(int threads, double seconds, int batch, List<String> texts, Call call) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        LongAdder calls = new LongAdder();
        List<Thread> running = new ArrayList<>();
        long start = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int offset = t * 17;
            running.add(Thread.ofPlatform().start(() -> {
                int i = offset;
                try {
                    while (!stop.get()) {
                        List<String> request = new ArrayList<>(batch);
                        for (int j = 0; j < batch; j++) {
                            request.add(texts.get(i++ % texts.size()));
                        }
                        call.run(request);
                        calls.increment();
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        Thread.sleep((long) (seconds * 1000));
        stop.set(true);
        for (Thread t : running) {
            t.join();
        }
        return calls.sum() / ((System.nanoTime() - start) / 1e9);
    }

    static Encoding[] encode(HuggingFaceTokenizer tokenizer, List<String> texts) {
        return texts.size() == 1 ? new Encoding[]{tokenizer.encode(texts.get(0))} : tokenizer.batchEncode(texts);
    }

    static long idsOnly(HuggingFaceTokenizer tokenizer, List<String> texts) {
        TokenizersLibrary lib = TokenizersLibrary.LIB;
        long[] handles = texts.size() == 1 ? new long[]{lib.encode(tokenizer.getHandle(), texts.get(0), true)}
                : lib.batchEncode(tokenizer.getHandle(), texts.toArray(String[]::new), true);
        long sum = 0;
        for (long h : handles) {
            sum += lib.getTokenIds(h).length + lib.getAttentionMask(h).length + lib.getTypeIds(h).length;
            lib.deleteEncoding(h);
        }
        return sum;
    }

    /** TextClassifier.classify's work: encode, pad to the longest, run, softmax, labels best first. */
    static List<List<Scored>> classify(OrtEnvironment env, OrtSession session, HuggingFaceTokenizer tokenizer,
                                       boolean types, List<String> labels, List<String> texts) throws Exception {
        Encoding[] encodings = encode(tokenizer, texts);
        int batch = encodings.length;
        int length = 0;
        for (Encoding e : encodings) {
            length = Math.max(length, e.getIds().length);
        }
        long[] ids = new long[batch * length];
        long[] mask = new long[batch * length];
        long[] typeIds = new long[batch * length];
        for (int row = 0; row < batch; row++) {
            long[] rowIds = encodings[row].getIds();
            System.arraycopy(rowIds, 0, ids, row * length, rowIds.length);
            System.arraycopy(encodings[row].getAttentionMask(), 0, mask, row * length, rowIds.length);
            System.arraycopy(encodings[row].getTypeIds(), 0, typeIds, row * length, rowIds.length);
        }
        long[] shape = {batch, length};
        Map<String, OnnxTensor> feed = new HashMap<>();
        try {
            feed.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
            feed.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
            if (types) {
                feed.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(typeIds), shape));
            }
            float[] logits;
            try (OrtSession.Result result = session.run(feed, Set.of("logits"))) {
                FloatBuffer buffer = ((OnnxTensor) result.get("logits").orElseThrow()).getFloatBuffer();
                logits = new float[buffer.remaining()];
                buffer.get(logits);
            }
            int n = labels.size();
            List<List<Scored>> answers = new ArrayList<>(batch);
            for (int row = 0; row < batch; row++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    max = Math.max(max, logits[row * n + j]);
                }
                double[] p = new double[n];
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    p[j] = Math.exp(logits[row * n + j] - max);
                    sum += p[j];
                }
                List<Scored> answer = new ArrayList<>(n);
                for (int j = 0; j < n; j++) {
                    answer.add(new Scored(labels.get(j), p[j] / sum));
                }
                answer.sort(Comparator.comparingDouble(Scored::score).reversed());
                answers.add(List.copyOf(answer.subList(0, 1)));
            }
            return answers;
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }
}
