package dev.serveml.runtime.text;

import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.TokenSink;

import java.util.List;
import java.util.Optional;

/**
 * A loaded text-generation model as a caller that needs more than one call's answer sees it: a
 * route that streams tokens as they come, or the OpenAI completions, which want the token counts
 * and why it ended. {@link #of} finds it behind a {@link LoadedModel}; {@link #generate} blocks for
 * one model call per token, so it runs on a worker thread, never an event loop, and its listener
 * (told each token as row 0) may end it (a client that went away).
 */
public interface Generator {
    /**
     * How one generation runs.
     *
     * @param topK     0 for no top-k filter
     * @param seed     null for a seed of its own
     * @param logprobs -1 for no log probabilities; else each token's and this many alternatives' (0-20)
     * @param chat     whether the text is a conversation (a JSON array of messages) for the chat template
     */
    record Settings(int maxNewTokens, boolean doSample, double temperature, int topK, double topP,
                    double repetitionPenalty, Long seed, List<String> stop, boolean returnFullText, int logprobs,
                    boolean chat) {
        public Settings {
            stop = List.copyOf(stop);
        }
    }

    /** Why a generation ended. */
    enum Finish { LENGTH, EOS, STOP, CANCELLED }

    /**
     * One generation's result.
     *
     * @param ids  the generated ids (an EOS included, which the text leaves out)
     * @param text the continuation alone, up to and including a stop string that ended it (as
     *             Hugging Face's text-generation answers it)
     */
    record Generation(long[] promptIds, long[] ids, String text, Finish finish) {
    }

    /** The most tokens prompt and continuation may have together (config.json's n_positions). */
    int context();

    /** A call's parameters read and checked; each bad one is a 422 naming /parameters/{name}. */
    Settings settings(Parameters parameters);

    /**
     * Generates a continuation of {@code prompt} with the KV cache kept between steps.
     *
     * @param pointer  where the prompt is in the request, for a 422 (too long for the context, empty)
     * @param listener told each token; answering false ends the generation as {@link Finish#CANCELLED}
     */
    Generation generate(String prompt, String pointer, Settings settings, TokenSink listener);

    /** The generator a loaded model serves, where it is a text-generation model. */
    static Optional<Generator> of(LoadedModel model) {
        return model instanceof TextLoadedModel t && t.task() instanceof Generator g ? Optional.of(g) : Optional.empty();
    }
}
