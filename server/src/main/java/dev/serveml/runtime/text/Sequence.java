package dev.serveml.runtime.text;

import dev.serveml.runtime.TokenSink;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One row's generation as the decode loop steps it: the tokens so far, the text they decode to, why
 * it ended, and where its key/value cache is between model calls. The loop feeds it each step's
 * logits ({@link #accept}); it chooses the next token, tells the sink, and says whether it goes on.
 * Used on the loop's thread only.
 */
final class Sequence {
    /** The call this row belongs to and which of its rows it is. */
    final DecodeLoop.Call call;
    final int row;
    final String prompt;
    final String pointer;
    final Generator.Settings settings;

    long[] promptIds;
    private long[] generated;
    private int count;
    private final Set<Long> seen = new HashSet<>();
    private final SplittableRandom random;
    private String text = "";
    // TGI's incremental decoding: each step decodes a few tokens (from the last whole character on),
    // not everything generated so far, and holds back a token that ends inside a character
    private int prefix;
    private int read;
    private Generator.Finish finish;
    private int budget;

    /** Tokens whose keys and values the cache holds (the prompt, then each token fed back). */
    int cached;
    /**
     * Its own prefill's answer, holding its cache until it joins the batch's past (null once it
     * has: the batch's last call then holds it).
     */
    TextGenerator.Step own;

    Sequence(DecodeLoop.Call call, int row, String prompt, String pointer, Generator.Settings settings) {
        this.call = call;
        this.row = row;
        this.prompt = prompt;
        this.pointer = pointer;
        this.settings = settings;
        // each row of a seeded call has its own stream of draws (n samples of one prompt differ),
        // the first row's the seed's own
        SplittableRandom r = settings.seed() != null ? new SplittableRandom(settings.seed()) : new SplittableRandom();
        for (int i = 0; i < row && settings.seed() != null; i++) {
            r = r.split();
        }
        this.random = r;
    }

    /** Sets the prompt's ids (tokenized on the loop's thread) and how many tokens may follow. */
    void start(long[] promptIds, int context) {
        this.promptIds = promptIds;
        this.budget = Math.min(settings.maxNewTokens(), context - promptIds.length);
        this.generated = new long[budget];
        for (long id : promptIds) {
            seen.add(id);
        }
    }

    /** The token the next step feeds (the last one chosen). */
    long last() {
        return generated[count - 1];
    }

    boolean finished() {
        return finish != null;
    }

    /** Ends it without another token: its client went away, or its call failed. */
    void cancel() {
        if (finish == null) {
            finish = Generator.Finish.CANCELLED;
        }
    }

    /**
     * Takes one step's logits for this row: chooses the next token and tells the sink.
     *
     * @return whether it goes on (another step is needed)
     */
    boolean accept(float[] logits, TextGenerator model, TokenSink sink) {
        long token = TextGenerator.choose(logits, settings, seen, random);
        generated[count++] = token;
        seen.add(token);
        if (model.isEos(token)) {
            finish = Generator.Finish.EOS;
            tell(sink, model, token, "", logits, true, true);
            return false;
        }
        String before = model.decode(Arrays.copyOfRange(generated, prefix, read));
        String after = model.decode(Arrays.copyOfRange(generated, prefix, count));
        String delta = "";
        int searched = text.length();
        if (after.length() > before.length() && !after.endsWith("\uFFFD")) {
            delta = after.substring(before.length());
            text += delta;
            prefix = read;
            read = count;
        }
        int stopAt = stopEnd(text, searched, settings.stop());
        if (stopAt >= 0) {
            // the delta the sink gets ends with the stop string, as the text does
            delta = delta.substring(0, Math.max(0, delta.length() - (text.length() - stopAt)));
            text = text.substring(0, stopAt);
            finish = Generator.Finish.STOP;
            tell(sink, model, token, delta, logits, false, true);
            return false;
        }
        boolean last = count >= budget;
        if (!tell(sink, model, token, delta, logits, false, last)) {
            finish = Generator.Finish.CANCELLED;
            return false;
        }
        if (last) {
            finish = Generator.Finish.LENGTH;
            return false;
        }
        return true;
    }

    /** Tells the sink of a token; a request that streams nothing pays nothing for it (no decode). */
    private boolean tell(TokenSink sink, TextGenerator model, long token, String delta, float[] logits, boolean eos,
                         boolean last) {
        return sink == TokenSink.NONE || sink.token(row, model.token(token, delta, logits, settings, eos, last));
    }

    /**
     * Where the text ends after the first stop string in it (the string included), or -1. The text
     * before {@code searched} held none, so only a string ending after it is looked for.
     */
    private static int stopEnd(String text, int searched, List<String> stop) {
        int best = -1;
        for (String s : stop) {
            int at = text.indexOf(s, Math.max(0, searched - s.length() + 1));
            if (at >= 0 && (best < 0 || at + s.length() < best)) {
                best = at + s.length();
            }
        }
        return best;
    }

    /** The finished generation. */
    Generator.Generation result(TextGenerator model) {
        long[] ids = Arrays.copyOf(generated == null ? new long[0] : generated, count);
        String out = finish == Generator.Finish.STOP ? text : model.decode(ids);
        return new Generator.Generation(promptIds == null ? new long[0] : promptIds, ids, out,
                finish == null ? Generator.Finish.CANCELLED : finish);
    }
}
