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
 * stepped with the others; one that ends (its last token, a stop string, its client gone) is
 * answered at once and its row is dropped at the next rebuild.
 *
 * <p>The members' caches have different lengths, so a call's past is left-padded to the longest
 * and the attention mask hides the padding; each sequence's positions are its own. While the
 * members stay the same, the call's presents are the next call's past as they are (no copy, as in
 * a one-sequence loop). A rebuild copies every live member's cache into a new past, so it happens
 * only when sequences join (in groups: at once into an idle batch, else once a quarter of the
 * places are free or the first in line has waited {@link #MAX_WAIT_STEPS} steps) or when ended
 * rows are half the batch. An export without {@code position_ids} cannot be told the positions of
 * a padded row, so its sequences are stepped one at a time (still in this loop).
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

    /** The most steps a waiting sequence waits for others to join with it. */
    static final int MAX_WAIT_STEPS = 8;

    private final TextGenerator model;
    private final int capacity;
    /** Places that free before waiting sequences join (unless the batch is idle or they waited long). */
    private final int group;
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
    /** Steps the first sequence in line has waited for a group of places to free. */
    private int waited;
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
        this.group = Math.max(1, this.capacity / 4);
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
                    int live = live();
                    int free = capacity - live;
                    // Joining rebuilds the past (a copy of every member's cache), so sequences join in
                    // groups: at once into an idle batch, else once a group's worth of places is free or
                    // the first in line has waited a few steps.
                    if (!waiting.isEmpty() && free > 0 && (live == 0 || free >= group || waited >= MAX_WAIT_STEPS)) {
                        while (joining.size() < free && !waiting.isEmpty()) {
                            joining.add(waiting.pollFirst());
                        }
                        waited = 0;
                    } else if (!waiting.isEmpty()) {
                        waited++;
                    }
                }
                for (Sequence s : joining) {
                    prefill(s);
                }
                if (live() == 0) {
                    dropAll(); // every member has ended: nothing to step
                } else {
                    step();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            failAll(new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "the model was unloaded while it generated; retry"));
        }
    }

    /** Members still generating (the others are ended rows kept in the past until the next rebuild). */
    private int live() {
        int n = 0;
        for (Sequence s : members) {
            if (!s.finished()) {
                n++;
            }
        }
        return n;
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
            s.call.sink.flush();
            if (!goesOn) {
                finished(s);
                return;
            }
            if (members.isEmpty() && last == null) {
                // alone: the prefill's presents are the batch's past as they are
                last = result;
                width = s.cached;
            } else {
                s.own = result;
                changed = true;
            }
            result = null;
            members.add(s);
        } catch (RuntimeException e) {
            fail(s.call, e);
        } finally {
            if (result != null) {
                result.close();
            }
        }
    }

    /**
     * One model call for every member: each live one gets its next token, and one that ends stays
     * a row (its token ignored) until the next rebuild drops it, when sequences join or when ended
     * rows are half the batch.
     */
    private void step() {
        try {
            if (changed || width + 1 > model.context()) {
                rebuild(); // an ended row's cache may not grow past the context either
            }
            int n = members.size();
            long[][] tokens = new long[n][];
            int[] pasts = new int[n];
            for (int b = 0; b < n; b++) {
                Sequence s = members.get(b);
                tokens[b] = new long[]{s.last()};
                pasts[b] = s.cached;
            }
            TextGenerator.Step result = model.run(tokens, pasts, width, last);
            steps++;
            rowsStepped += live();
            widest = Math.max(widest, n);
            last.close();
            last = result;
            width++;
            int ended = 0;
            java.util.Set<TokenSink> told = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            for (int b = 0; b < n; b++) {
                Sequence s = members.get(b);
                s.cached++;
                if (s.finished()) {
                    ended++;
                    continue;
                }
                if (s.call.future.isDone()) {
                    s.cancel(); // another row of its call failed
                    ended++;
                    continue;
                }
                told.add(s.call.sink);
                if (!s.accept(model.logits(result, b, 1), model, s.call.sink)) {
                    finished(s);
                    ended++;
                }
            }
            told.forEach(TokenSink::flush);
            if (ended * 2 >= n) {
                changed = true;
            }
        } catch (RuntimeException e) {
            List<Sequence> failed = new ArrayList<>(members);
            dropAll();
            for (Sequence s : failed) {
                fail(s.call, e);
            }
        }
    }

    /** A new past for the live members, copied from the last call's presents and the joiners' prefills. */
    private void rebuild() {
        List<Sequence> kept = new ArrayList<>();
        List<TextGenerator.Source> rows = new ArrayList<>();
        int newWidth = 0;
        for (int b = 0; b < members.size(); b++) {
            Sequence s = members.get(b);
            if (s.finished()) {
                continue;
            }
            kept.add(s);
            rows.add(s.own != null ? new TextGenerator.Source(s.own, 0, s.cached, s.cached)
                    : new TextGenerator.Source(last, b, width, s.cached));
            newWidth = Math.max(newWidth, s.cached);
        }
        TextGenerator.Step past = kept.isEmpty() ? null : model.assemble(rows, newWidth);
        closeOwn();
        closeLast();
        members.clear();
        members.addAll(kept);
        last = past;
        width = newWidth;
        changed = false;
    }

    /** Ends every member's place in the batch (they have ended, or failed). */
    private void dropAll() {
        closeOwn();
        members.clear();
        closeLast();
        changed = false;
    }

    private void closeOwn() {
        for (Sequence s : members) {
            if (s.own != null) {
                s.own.close();
                s.own = null;
            }
        }
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
        dropAll();
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
