package dev.serveml.auth;

import java.time.Instant;
import java.util.Set;

/**
 * What a caller asks for in a new API key.
 *
 * @param expiresAt          null: none asked for (a key created with a key then inherits its expiry)
 * @param rateLimitPerMinute null: none asked for (the server's default, or the creating key's limit)
 * @param dailyQuota         null: none asked for (no quota, or the creating key's quota)
 */
public record KeyRequest(String name, Set<Scope> scopes, Instant expiresAt, Integer rateLimitPerMinute,
                         Integer dailyQuota) {
    public KeyRequest {
        scopes = Set.copyOf(scopes);
    }
}
