package dev.serveml.monitor;

import java.net.URI;
import java.util.Objects;
import java.util.Optional;

/**
 * What a deployment (or model) keeps of its predictions in the prediction log: {@code logging} in
 * its config. Off by default.
 *
 * @param sampleRate      the share of predictions logged, 0 to 1 (each drawn independently)
 * @param payloads        whether a logged entry keeps its inputs and outputs, not only its facts
 * @param maxPayloadBytes a kept payload's most bytes (as JSON); a larger one is cut and marked truncated
 * @param feedback        whether feedback is taken for it: then every prediction's id and predicted
 *                        value are logged, whatever the sample rate says (payloads are still sampled)
 * @param url             where logged entries are also sent as CloudEvents (KServe's logger's event
 *                        types), if anywhere
 */
public record LoggingRule(double sampleRate, boolean payloads, int maxPayloadBytes, boolean feedback,
                          Optional<URI> url) {
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;
    public static final LoggingRule OFF = new LoggingRule(0, false, DEFAULT_MAX_PAYLOAD_BYTES, false, Optional.empty());

    public LoggingRule {
        if (!(sampleRate >= 0 && sampleRate <= 1)) {
            throw new IllegalArgumentException("sample rate " + sampleRate + " is outside 0..1");
        }
        if (maxPayloadBytes < 0) {
            throw new IllegalArgumentException("max payload bytes " + maxPayloadBytes + " is negative");
        }
        Objects.requireNonNull(url);
    }

    /** Whether anything is ever logged. */
    public boolean on() {
        return sampleRate > 0 || feedback;
    }
}
