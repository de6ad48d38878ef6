package dev.serveml.runtime.text;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.TokenSink;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Continuous batching for one text-generation model: every sequence in flight shares each model
 * call, one token per sequence per call, and sequences join and leave between calls. A sequence
 * joins by running its prompt alone (the prefill, which also gives its first token), then is
 * stepped with the others; one that ends (its last token, a stop string, its client gone) leaves
 * before the next call, and a waiting one takes its place.
 *
 * <p>The members' caches have different lengths, so a call's past is left-padded to the longest
 * and the attention mask hides the padding; each sequence's positions are its own. While the
 * members stay the same, the call's presents are the next call's past as they are (no copy, as in
 * a one-sequence loop); when they change, each member's cache is copied out and the past rebuilt
 * to the new longest. An export without {@code position_ids} cannot be told the positions of a
 * padded row, so its sequences are stepped one at a time (still in this loop).
 *
 * <p>One platform thread per model runs the calls (started with the first call, stopped by
 * {@link #close}): requests hold no worker while they generate. At most {@code capacity} sequences
 * are stepped together; more rows wait their turn in arrival order. Thread-safe.
 */
final class DecodeLoop implements AutoCloseable {
    /** One request: its rows, how they are generated, and who is told. */
    static final class Call {
        final Generator.Settings settings;
        final TokenSink sink;
        final CompletableFuture<Generator.Generation[]> future = new CompletableFuture<>();
        final Generator.Generation[] results;
        int remaining;

        Call(int rows, Generator.Settings settings, TokenSink sink) {
            this.settings = settings;
            this.sink = sink;
            this.results = new Generator.Generation[rows];
            this.remaining = rows;
        }
    }

    private final TextGenerator model;
    private final int capacity;
    private final String name;
    private final ArrayDeque<Sequence> waiting = new ArrayDeque<>(); // guarded by this
    private Thread thread; // guarded by this
    private boolean closed; // guarded by this

    // The loop thread's own state: the members being stepped, and the last call's result, whose
    // presents hold their caches (null when they are detached and the past must be rebuilt).
    private final List<Sequence> members = new ArrayList<>();
    private TextGenerator.Step last;
    private int width;
    private boolean changed;
    // what the loop has done, for tests and diagnostics: written on its thread only
    private volatile long steps;
    private volatile long rowsStepped;
    private volatile int widest;

    /**
     * @param capacity the most sequences stepped together
     * @param name     the model, for the thread's name
     */
    DecodeLoop(TextGenerator model, int capacity, String name) {
        this.model = model;
        this.capacity = model.padsRows() ? capacity : 1;
        this.name = name;
    }

    /** Queues a call's rows. Never blocks. */
    CompletableFuture<Generator.Generation[]> submit(List<String> texts, Generator.Settings settings, TokenSink sink) {
        Call call = new Call(texts.size(), settings, sink);
        synchronized (this) {
            if (closed) {
                call.future.completeExceptionally(new ProblemException(ProblemType.SERVICE_UNAVAILABLE,
                        "the model is being unloaded; retry"));
                return call.future;
            }
            for (int i = 0; i < texts.size(); i++) {
                waiting.addLast(new Sequence(call, i, texts.get(i), "/inputs/" + i, settings));
            }
            if (thread == null) {
                thread = new Thread(this::run, "serveml-generate-" + name);
                thread.setDaemon(true);
                thread.start();
            }
            notifyAll();
        }
        return call.future;
    }

    private void run() {
        try {
            while (true) {
                List<Sequence> joining = new ArrayList<>();
                synchronized (this) {
                    while (!closed && waiting.isEmpty() && members.isEmpty()) {
                        wait();
                    }
                    if (closed) {
                        break;
                    }
                    while (members.size() + joining.size() < capacity && !waiting.isEmpty()) {
                        joining.add(waiting.pollFirst());
                    }
                }
                for (Sequence s : joining) {
                    prefill(s);
                }
                if (!members.isEmpty()) {
                    step();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            failAll(new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "the model was unloaded while it generated; retry"));
        }
    }

    /** Runs a joining sequence's prompt alone: its cache, and its first token. */
    private void prefill(Sequence s) {
        if (s.call.future.isDone()) {
            return; // another row of its call failed
        }
        TextGenerator.Step result = null;
        try {
            s.start(model.promptIds(s.prompt, s.pointer, s.settings), model.context());
            result = model.run(new long[][]{s.promptIds}, new int[]{0}, 0, null);
            s.cached = s.promptIds.length;
            boolean goesOn = s.accept(model.logits(result, 0, s.promptIds.length), model, s.call.sink);
            if (!goesOn) {
                finished(s);
                return;
            }
            if (members.isEmpty() && last == null) {
                // alone: the prefill's presents are the batch's past as they are
                last = result;
                result = null;
                width = s.cached;
            } else {
                s.detached = model.detach(result, new int[]{s.cached}, s.cached)[0];
                changed = true;
            }
            members.add(s);
        } catch (RuntimeException e) {
            fail(s.call, e);
        } finally {
            if (result != null) {
                result.close();
            }
        }
    }

    /** One model call for every member: each gets its next token; those that end leave. */
    private void step() {
        try {
            if (changed) {
                rebuild();
            }
            int n = members.size();
            long[][] tokens = new long[n][];
            int[] pasts = new int[n];
            for (int b = 0; b < n; b++) {
                tokens[b] = new long[]{members.get(b).last()};
                pasts[b] = members.get(b).cached;
            }
            TextGenerator.Step result = model.run(tokens, pasts, width, last);
            steps++;
            rowsStepped += n;
            widest = Math.max(widest, n);
            last.close();
            last = result;
            width++;
            boolean left = false;
            for (int b = 0; b < n; b++) {
                Sequence s = members.get(b);
                s.cached++;
                if (s.call.future.isDone()) {
                    s.cancel();
                    left = true;
                    continue;
                }
                if (!s.accept(model.logits(result, b, 1), model, s.call.sink)) {
                    left = true;
                }
            }
            if (left) {
                leave();
            }
        } catch (RuntimeException e) {
            List<Sequence> failed = new ArrayList<>(members);
            members.clear();
            closeLast();
            changed = false;
            for (Sequence s : failed) {
                fail(s.call, e);
            }
        }
    }

    /** Takes the finished members out: the others' caches are copied out of the last call first. */
    private void leave() {
        detachAll();
        List<Sequence> done = new ArrayList<>();
        members.removeIf(s -> {
            if (s.finished()) {
                done.add(s);
                return true;
            }
            return false;
        });
        done.forEach(this::finished);
        changed = !members.isEmpty();
    }

    /**
     * Copies every member still in the last call's presents out of it, and closes it. Those are the
     * first {@code last.rows()} members, in order: members change only here and by joining at the end.
     */
    private void detachAll() {
        if (last == null) {
            return;
        }
        int[] lengths = new int[last.rows()];
        for (int b = 0; b < lengths.length; b++) {
            Sequence s = members.get(b);
            lengths[b] = s.finished() || s.detached != null ? -1 : s.cached;
        }
        float[][][] caches = model.detach(last, lengths, width);
        for (int b = 0; b < lengths.length; b++) {
            if (lengths[b] >= 0) {
                members.get(b).detached = caches[b];
            }
        }
        closeLast();
    }

    /** A new past for the members from their detached caches, left-padded to the longest. */
    private void rebuild() {
        detachAll();
        width = 0;
        for (Sequence s : members) {
            width = Math.max(width, s.cached);
        }
        float[][][] caches = new float[members.size()][][];
        int[] lengths = new int[members.size()];
        for (int b = 0; b < members.size(); b++) {
            caches[b] = members.get(b).detached;
            lengths[b] = members.get(b).cached;
            members.get(b).detached = null;
        }
        last = model.pastOf(caches, lengths, width);
        changed = false;
    }

    private void closeLast() {
        if (last != null) {
            last.close();
            last = null;
        }
    }

    private void finished(Sequence s) {
        Call call = s.call;
        if (call.future.isDone()) {
            return;
        }
        call.results[s.row] = s.result(model);
        if (--call.remaining == 0) {
            call.future.complete(call.results);
        }
    }

    private void fail(Call call, RuntimeException e) {
        call.future.completeExceptionally(e instanceof ProblemException ? e
                : new ProblemException(ProblemType.INFERENCE_FAILED, "the model failed while it generated", e));
    }

    private void failAll(ProblemException e) {
        List<Sequence> left;
        synchronized (this) {
            closed = true;
            left = new ArrayList<>(waiting);
            waiting.clear();
        }
        left.addAll(members);
        members.clear();
        closeLast();
        for (Sequence s : left) {
            s.call.future.completeExceptionally(e);
        }
    }

    /** What the loop has done: decode calls, rows they stepped, and the most in one call. */
    record Counts(long steps, long rows, int widest) {
    }

    Counts counts() {
        return new Counts(steps, rowsStepped, widest);
    }

    int capacity() {
        return capacity;
    }

    /** Sequences waiting for a place in the batch (tests and diagnostics). */
    synchronized int waiting() {
        return waiting.size();
    }

    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            closed = true;
            t = thread;
            notifyAll();
        }
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (t == null) {
            failAll(new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "the model was unloaded; retry"));
        }
    }
}
