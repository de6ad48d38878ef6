package dev.serveml.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Hugging Face's extractive question-answering pipeline. A context longer than
 * {@code max_seq_len} tokens (with its question and special tokens) is cut into overlapping
 * windows, each {@code doc_stride} tokens into the one before, as the tokenizer's
 * {@code truncation="only_second"} with a stride cuts it. In each window the start and end logits
 * of the context tokens are softmaxed ({@code [CLS]} then zeroed), a span's score is
 * start × end with {@code start ≤ end < start + max_answer_len}, and the best {@code top_k}
 * spans across windows are answered with character offsets into the context as sent.
 *
 * <p>Signature: {@code question} and {@code context} BYTES [-1] in, {@code answer} BYTES [-1] out,
 * each row Hugging Face's JSON: {@code {"score", "start", "end", "answer"}}, or a list of them when
 * {@code top_k} is more than 1 (ragged; see {@link TextTask}).
 */
final class QuestionAnswerer implements TextTask {
    static final String QUESTION = "question";
    static final String CONTEXT = "context";
    static final String ANSWER = "answer";
    private static final String START_LOGITS = "start_logits";
    private static final String END_LOGITS = "end_logits";
    private static final Signature SIGNATURE = new Signature(
            List.of(TensorSpec.tensor(QUESTION, DataType.BYTES, List.of(-1L)),
                    TensorSpec.tensor(CONTEXT, DataType.BYTES, List.of(-1L))),
            List.of(TensorSpec.tensor(ANSWER, DataType.BYTES, List.of(-1L))));
    private static final Map<String, String> PARAMETERS = Map.of(
            "top_k", "a whole number from 1 to 100: how many answers, best first",
            "max_answer_len", "a whole number, 1 or more: the most tokens an answer may span (default 15)",
            "max_seq_len", "a whole number: tokens per window, question included, at most the model's maximum",
            "doc_stride", "a whole number: tokens each window overlaps the one before (default max_seq_len / 2, "
                    + "at most 128)");
    /** Windows one call may run: a huge context costs one model row per window. */
    private static final int MAX_WINDOWS = 256;

    private final TextEncoder encoder;

    /** @param encoder opened without truncation: this task cuts contexts into windows itself */
    QuestionAnswerer(TextEncoder encoder) {
        this.encoder = encoder;
        for (String output : List.of(START_LOGITS, END_LOGITS)) {
            long[] shape = encoder.outputShape(output).orElseThrow(() -> new ProblemException(ProblemType.INVALID_MODEL,
                    "a question-answering export answers start_logits and end_logits (export it with optimum-cli "
                            + "export onnx --task question-answering)"));
            if (shape.length != 2) {
                throw new ProblemException(ProblemType.INVALID_MODEL, "the ONNX export's " + output + " has shape "
                        + Arrays.toString(shape) + ", not [batch, tokens]");
            }
        }
    }

    @Override
    public String name() {
        return "question-answering";
    }

    @Override
    public Signature signature() {
        return SIGNATURE;
    }

    @Override
    public List<String> labels() {
        return List.of();
    }

    private record Call(int topK, int maxAnswerLength, int maxSeqLength, int stride) {
    }

    private Call call(Parameters parameters) {
        TaskParameters p = new TaskParameters("question-answering", PARAMETERS, parameters);
        int maxLength = encoder.config().maxLength();
        int maxSeq = p.integer("max_seq_len", 4, maxLength, Math.min(maxLength, 384));
        int stride = p.integer("doc_stride", 0, maxSeq - 1, Math.min(maxSeq / 2, 128));
        return new Call(p.integer("top_k", 1, 100, 1), p.integer("max_answer_len", 1, maxLength, 15), maxSeq, stride);
    }

    /** One window: its tokens, which are context, and each context token's offsets into the context. */
    private record Window(int question, long[] ids, long[] types, boolean[] context, int[][] offsets) {
    }

    /** A scored span of one window, as character offsets into its question's context. */
    private record Span(double score, int start, int end) {
    }

    @Override
    public void check(List<Tensor> inputs, Parameters parameters) {
        Call call = call(parameters);
        TextColumn questions = TextColumn.read(inputs, QUESTION, true).requireTexts();
        TextColumn contexts = TextColumn.read(inputs, CONTEXT, true).requireTexts();
        questions.requireSameRows(contexts);
        windows(questions, contexts, call);
    }

    @Override
    public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        Call call = call(parameters);
        TextColumn questions = TextColumn.read(inputs, QUESTION, true);
        TextColumn contexts = TextColumn.read(inputs, CONTEXT, true);
        questions.requireSameRows(contexts);
        List<Window> windows = windows(questions, contexts, call);
        TextEncoder.Batch batch = TextEncoder.Batch.of(windows.stream().map(Window::ids).toList(),
                windows.stream().map(Window::types).toList());
        Map<String, TextEncoder.Floats> out = encoder.run(batch, Set.of(START_LOGITS, END_LOGITS));
        List<List<Span>> spans = new ArrayList<>();
        for (int i = 0; i < questions.values().size(); i++) {
            spans.add(new ArrayList<>());
        }
        for (int w = 0; w < windows.size(); w++) {
            Window window = windows.get(w);
            double[] start = probabilities(out.get(START_LOGITS), w, batch.length(), window);
            double[] end = probabilities(out.get(END_LOGITS), w, batch.length(), window);
            List<Span> candidates = new ArrayList<>();
            for (int s = 0; s < window.ids().length; s++) {
                if (!window.context()[s]) {
                    continue;
                }
                for (int e = s; e < Math.min(window.ids().length, s + call.maxAnswerLength()); e++) {
                    if (window.context()[e]) {
                        candidates.add(new Span(start[s] * end[e], window.offsets()[s][0], window.offsets()[e][1]));
                    }
                }
            }
            candidates.sort(Comparator.comparingDouble(Span::score).reversed());
            spans.get(window.question()).addAll(candidates.subList(0, Math.min(call.topK(), candidates.size())));
        }
        List<byte[]> rows = new ArrayList<>(spans.size());
        for (int q = 0; q < spans.size(); q++) {
            List<Span> best = new ArrayList<>(spans.get(q));
            best.sort(Comparator.comparingDouble(Span::score).reversed());
            String context = contexts.values().get(q);
            List<Span> answers = best.subList(0, Math.min(call.topK(), best.size()));
            rows.add(TextTask.json(g -> {
                if (call.topK() > 1) {
                    g.writeStartArray();
                }
                for (Span s : answers) {
                    g.writeStartObject();
                    g.writeNumberField("score", (float) s.score());
                    g.writeNumberField("start", s.start());
                    g.writeNumberField("end", s.end());
                    g.writeStringField("answer", TextEncoder.slice(context, s.start(), s.end()));
                    g.writeEndObject();
                }
                if (call.topK() > 1) {
                    g.writeEndArray();
                } else if (answers.isEmpty()) {
                    g.writeNull();
                }
            }));
        }
        return Map.of(ANSWER, Tensor.ofBytes(ANSWER, new long[]{rows.size()}, rows));
    }

    /**
     * Softmax over the window's context tokens and {@code [CLS]} (the others are masked with -10000,
     * as Hugging Face masks them), then {@code [CLS]} zeroed: it is no answer.
     */
    private static double[] probabilities(TextEncoder.Floats logits, int row, int length, Window window) {
        int n = window.ids().length;
        double[] p = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            p[i] = window.context()[i] || i == 0 ? logits.values()[row * length + i] : -10000.0;
            max = Math.max(max, p[i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(p[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        p[0] = 0;
        return p;
    }

    /**
     * Each question's pair encoded whole (the tokenizer's template gives the special tokens and type
     * ids), then its context tokens cut into windows of what {@code max_seq_len} leaves them.
     */
    private List<Window> windows(TextColumn questions, TextColumn contexts, Call call) {
        Encoding[] pairs = encoder.encodePairs(questions.values(), contexts.values());
        List<Window> windows = new ArrayList<>();
        for (int q = 0; q < pairs.length; q++) {
            Encoding pair = pairs[q];
            long[] sequence = pair.getSequenceIds();
            int first = -1;
            int last = -1;
            for (int i = 0; i < sequence.length; i++) {
                if (sequence[i] == 1 && pair.getSpecialTokenMask()[i] == 0) {
                    first = first < 0 ? i : first;
                    last = i;
                }
            }
            if (first < 0) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, contexts.pointer(q), "the context has no tokens");
            }
            int contextTokens = last - first + 1;
            int budget = call.maxSeqLength() - (pair.getIds().length - contextTokens);
            if (budget <= 0) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, questions.pointer(q), "the question leaves no "
                        + "room for the context in max_seq_len (" + call.maxSeqLength() + ") tokens");
            }
            List<int[]> ranges = new ArrayList<>();
            if (contextTokens <= budget) {
                ranges.add(new int[]{0, contextTokens});
            } else {
                if (call.stride() >= budget) {
                    throw ProblemException.field(ProblemType.INVALID_INPUT, "/parameters/doc_stride", "doc_stride ("
                            + call.stride() + ") must be less than the " + budget + " tokens each window leaves the "
                            + "context");
                }
                for (int start = 0; ; start += budget - call.stride()) {
                    int stop = Math.min(start + budget, contextTokens);
                    ranges.add(new int[]{start, stop});
                    if (stop == contextTokens) {
                        break;
                    }
                }
            }
            if (windows.size() + ranges.size() > MAX_WINDOWS) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, contexts.pointer(q), "the contexts need more "
                        + "than " + MAX_WINDOWS + " windows of " + call.maxSeqLength() + " tokens; send shorter ones");
            }
            for (int[] range : ranges) {
                windows.add(window(q, pair, first, last, range[0], range[1]));
            }
        }
        return windows;
    }

    private static Window window(int question, Encoding pair, int first, int last, int from, int to) {
        int prefix = first;
        int suffix = pair.getIds().length - last - 1;
        int n = prefix + (to - from) + suffix;
        long[] ids = new long[n];
        long[] types = new long[n];
        boolean[] context = new boolean[n];
        int[][] offsets = new int[n][];
        CharSpan[] spans = pair.getCharTokenSpans();
        int k = 0;
        for (int i = 0; i < pair.getIds().length; i++) {
            boolean inContext = i >= first && i <= last;
            if (inContext && (i - first < from || i - first >= to)) {
                continue;
            }
            ids[k] = pair.getIds()[i];
            types[k] = pair.getTypeIds()[i];
            context[k] = inContext;
            offsets[k] = inContext && spans[i] != null ? new int[]{spans[i].getStart(), spans[i].getEnd()} : new int[]{0, 0};
            k++;
        }
        return new Window(question, ids, types, context, offsets);
    }

    @Override
    public void close() {
        encoder.close();
    }
}
