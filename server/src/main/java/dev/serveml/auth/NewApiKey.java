package dev.serveml.auth;

import java.time.Instant;
import java.util.Set;

/**
 * A key to store, with its limits already checked.
 *
 * @param parentId the key it was created with, or null for a session token
 * @param keyHash  SHA-256 of the whole secret
 */
public record NewApiKey(long userId, Long parentId, String name, String prefix, String keyHash, Set<Scope> scopes,
                        Integer rateLimitPerMinute, Integer dailyQuota, Instant expiresAt, Integer tokensPerMinute,
                        Integer tokensPerDay) {
    public NewApiKey {
        scopes = Set.copyOf(scopes);
    }
}
