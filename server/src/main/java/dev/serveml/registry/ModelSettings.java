package dev.serveml.registry;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A change to a model's settings; a null field leaves that setting as it is, and a rate limit or
 * TTL of 0 clears it (back to the server's default).
 */
public record ModelSettings(Boolean isPublic, Integer rateLimitPerMinute, String description, Boolean cacheEnabled,
                            Integer cacheTtlSeconds) {

    /** The fields this change sets, named as the API names them (for the audit log). */
    public Map<String, Object> changes() {
        Map<String, Object> changes = new LinkedHashMap<>();
        if (isPublic != null) {
            changes.put("public", isPublic);
        }
        if (rateLimitPerMinute != null) {
            changes.put("rate_limit_per_minute", rateLimitPerMinute);
        }
        if (description != null) {
            changes.put("description", description);
        }
        if (cacheEnabled != null) {
            changes.put("cache_enabled", cacheEnabled);
        }
        if (cacheTtlSeconds != null) {
            changes.put("cache_ttl_seconds", cacheTtlSeconds);
        }
        return changes;
    }
}
