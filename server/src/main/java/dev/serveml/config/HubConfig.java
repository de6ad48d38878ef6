package dev.serveml.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Where Hugging Face Hub sources come from and where their files are kept.
 *
 * @param endpoint  the Hub's base URL, without a trailing slash; the token is sent only to its host
 * @param token     the server's own token for gated and private repositories (a secret: never printed)
 * @param cacheDir  the root of the standard Hugging Face cache ({@code models--org--name/...} below it)
 * @param offline   resolve from the cache alone and never open a connection
 * @param timeout   longest a connection, an answer's headers or a stall inside a transfer may take
 */
public record HubConfig(URI endpoint, Optional<String> token, Path cacheDir, boolean offline, Duration timeout) {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    public HubConfig {
        Objects.requireNonNull(endpoint);
        Objects.requireNonNull(token);
        Objects.requireNonNull(cacheDir);
        Objects.requireNonNull(timeout);
    }

    @Override
    public String toString() {
        return "HubConfig[endpoint=" + endpoint + ", token=" + (token.isPresent() ? "***" : "(none)") + ", cacheDir="
                + cacheDir + ", offline=" + offline + ", timeout=" + timeout + "]";
    }
}
