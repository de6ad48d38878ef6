package dev.serveml.auth;

/**
 * An ancestor's limit that a key's requests also draw from: a key created with another key
 * takes every request from its parent's buckets too, so a limited key cannot multiply its
 * allowance by creating children.
 *
 * @param keyId      the ancestor key, whose own requests use the same buckets
 * @param perMinute  its per-minute limit, or 0 when it has none of its own
 * @param dailyQuota its requests per UTC day, or 0 for none
 * @param tokensPerMinute its model tokens (prompt and completion) per minute, or 0 for none
 * @param tokensPerDay    its model tokens per UTC day, or 0 for none
 */
public record Allowance(long keyId, int perMinute, int dailyQuota, int tokensPerMinute, int tokensPerDay) {
    public Allowance {
        if (perMinute < 0 || dailyQuota < 0 || tokensPerMinute < 0 || tokensPerDay < 0) {
            throw new IllegalArgumentException("limits are 0 (none) or positive");
        }
    }

    /** An ancestor that limits requests only. */
    public Allowance(long keyId, int perMinute, int dailyQuota) {
        this(keyId, perMinute, dailyQuota, 0, 0);
    }

    /** Whether this ancestor limits the tokens its descendants' answers take. */
    public boolean limitsTokens() {
        return tokensPerMinute > 0 || tokensPerDay > 0;
    }
}
