package dev.serveml.auth;

import java.time.Instant;
import java.util.Set;

/**
 * What a caller asks for in a new API key.
 *
 * @param expiresAt          null: none asked for (a key created with a key then inherits its expiry)
 * @param rateLimitPerMinute null: none asked for (the server's default, or the creating key's limit)
 * @param dailyQuota         null: none asked for (no quota, or the creating key's quota)
 * @param tokensPerMinute    model tokens per minute; null: none asked for (no limit, or the creating key's)
 * @param tokensPerDay       model tokens per UTC day; null: none asked for (no quota, or the creating key's)
 */
public record KeyRequest(String name, Set<Scope> scopes, Instant expiresAt, Integer rateLimitPerMinute,
                         Integer dailyQuota, Integer tokensPerMinute, Integer tokensPerDay) {
    public KeyRequest {
        scopes = Set.copyOf(scopes);
    }

    /** A request that limits requests only. */
    public KeyRequest(String name, Set<Scope> scopes, Instant expiresAt, Integer rateLimitPerMinute,
                      Integer dailyQuota) {
        this(name, scopes, expiresAt, rateLimitPerMinute, dailyQuota, null, null);
    }
}
