package dev.serveml.auth;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Who a request runs as.
 *
 * @param userId   the user, or 0 for an anonymous caller
 * @param username the user's name ("anonymous" for none)
 * @param role     the user's role
 * @param scopes   what this credential may do
 * @param apiKeyId the API key used, or 0 for a session token / anonymous
 * @param ip       the caller's address (for anonymous rate limits and the audit log)
 * @param rateLimitPerMinute the API key's own rate limit, or 0 for the default
 * @param dailyQuota         the API key's requests per UTC day, or 0 for none
 * @param inherited          the limits of the keys this key was created from (nearest first), which
 *                           its requests draw from too; empty for a session token or a key without parent
 * @param tokensPerMinute    the API key's model tokens (prompt and completion) per minute, or 0 for no limit
 * @param tokensPerDay       the API key's model tokens per UTC day, or 0 for no quota
 */
public record Principal(long userId, String username, Role role, Set<Scope> scopes, long apiKeyId, String ip,
                        int rateLimitPerMinute, int dailyQuota, List<Allowance> inherited, int tokensPerMinute,
                        int tokensPerDay) {
    public Principal {
        Objects.requireNonNull(username);
        Objects.requireNonNull(role);
        scopes = Set.copyOf(scopes);
        Objects.requireNonNull(ip);
        inherited = List.copyOf(inherited);
        if (tokensPerMinute < 0 || tokensPerDay < 0) {
            throw new IllegalArgumentException("token limits are 0 (none) or positive");
        }
    }

    /** A caller whose credential limits requests only. */
    public Principal(long userId, String username, Role role, Set<Scope> scopes, long apiKeyId, String ip,
                     int rateLimitPerMinute, int dailyQuota, List<Allowance> inherited) {
        this(userId, username, role, scopes, apiKeyId, ip, rateLimitPerMinute, dailyQuota, inherited, 0, 0);
    }

    /** A caller whose credential inherits no limits (a session token, a key without parent, the system). */
    public Principal(long userId, String username, Role role, Set<Scope> scopes, long apiKeyId, String ip,
                     int rateLimitPerMinute, int dailyQuota) {
        this(userId, username, role, scopes, apiKeyId, ip, rateLimitPerMinute, dailyQuota, List.of());
    }

    public static Principal anonymous(String ip) {
        return new Principal(0, "anonymous", Role.USER, Set.of(), 0, ip, 0, 0);
    }

    /** The same caller seen from another address. */
    public Principal withIp(String address) {
        return address.equals(ip) ? this : new Principal(userId, username, role, scopes, apiKeyId, address,
                rateLimitPerMinute, dailyQuota, inherited, tokensPerMinute, tokensPerDay);
    }

    public boolean anonymous() {
        return userId == 0;
    }

    public boolean admin() {
        return role == Role.ADMIN && scopes.contains(Scope.ADMIN);
    }

    public boolean has(Scope scope) {
        return scopes.contains(scope) || scopes.contains(Scope.ADMIN);
    }

    /** Whether this caller may see a resource owned by {@code ownerId} (null: created before accounts existed, admin-owned). */
    public boolean canSee(Long ownerId) {
        return admin() || (ownerId != null && ownerId == userId && !anonymous());
    }

    /**
     * Whether this caller owns a resource owned by {@code ownerId}: the same user (null: created
     * before accounts existed, owned by the admins). Unlike {@link #canSee}, an admin does not own
     * other users' things.
     */
    public boolean owns(Long ownerId) {
        if (anonymous()) {
            return false;
        }
        return ownerId == null ? role == Role.ADMIN : ownerId == userId;
    }
}
