package dev.serveml.runtime;

import java.util.List;

/**
 * Where a generating model reports each token as it is produced, for a route that streams them (SSE
 * on the native route and OpenAI's {@code /v1}) or wants each token's log probability. It is called
 * on the model's own thread, between model calls: it must not block (hand the write to the event
 * loop) and must be cheap. Answering false ends that row's generation at once (the client went away,
 * or stopped reading); its answer then says {@code finish_reason} {@code cancelled}.
 */
public interface TokenSink {
    /** A sink that wants nothing: the request is answered at the end, as any other. */
    TokenSink NONE = (row, token) -> true;

    /**
     * One generated token.
     *
     * @param row   which of the request's texts it continues (0 for a request of one text)
     * @param token the token
     * @return false to stop generating this row
     */
    boolean token(int row, Token token);

    /**
     * Called after each model step that told this sink a token, once however many of its rows
     * the step fed: a sink that hands its tokens to another thread hands over the step's whole
     * lot here (one wake-up of that thread per step, not one per token). On the model's thread.
     */
    default void flush() {
    }

    /**
     * A generated token.
     *
     * @param id       the token's id in the model's vocabulary
     * @param delta    the text it added to the answer: empty while it ends inside a UTF-8 character
     *                 (the next token's delta holds the character) and for an end-of-sequence
     *                 token; at a stop string, the delta ends with it (as the answer's text does,
     *                 Hugging Face's way): a route that leaves stop strings out (OpenAI's) holds back
     *                 text that may begin one until the next token says
     * @param piece    the token on its own, decoded ({@code U+FFFD} where it is part of a character),
     *                 where log probabilities were asked or it is the end-of-sequence token; else empty
     * @param logprob  its natural-log probability under the model (the raw distribution, before
     *                 temperature and top-k/top-p), or NaN when the call did not ask for log
     *                 probabilities (the generator's {@code logprobs} parameter)
     * @param top      the likeliest tokens at this step, best first, as many as {@code logprobs}
     *                 asked (empty when it was 0 or absent)
     * @param eos      whether this is the end-of-sequence token (its delta is empty)
     * @param last     whether it ends its row (end of sequence, a stop string, the most tokens
     *                 asked or the context's room): no token of that row follows
     */
    record Token(long id, String delta, String piece, double logprob, List<Alternative> top, boolean eos,
                 boolean last) {
        public Token {
            top = List.copyOf(top);
        }
    }

    /** One of the likeliest tokens at a step. */
    record Alternative(long id, String piece, double logprob) {
    }
}
