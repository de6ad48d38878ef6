package dev.serveml.auth;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * The most a credential may put into a key it creates, so that no credential can mint one wider
 * than itself:
 * <ul>
 *   <li>scopes: only those the credential holds (403 {@code insufficient-scope});</li>
 *   <li>per-minute limit: a user's key at most the server's limit ({@code SERVEML_RATE_LIMIT}, 422
 *       {@code limit-too-high}); only an admin credential (the admin role with the admin scope)
 *       may set more;</li>
 *   <li>created with a key (the parent): per-minute limit, daily quota and expiry at most the
 *       parent's (403 {@code insufficient-scope}); left out, they are the parent's, so a child is
 *       never unlimited where its parent is limited. Token limits (per minute, per UTC day) the same.</li>
 * </ul>
 * A parent without a limit of its own is bounded by the server's limit (for a user), as its own
 * requests are.
 *
 * @param scopes          what the credential holds
 * @param serverPerMinute the cap on a key's per-minute limit, or null when the credential may raise it (admins)
 * @param parent          the key the credential is, or empty for a session token
 */
record KeyCeiling(Set<Scope> scopes, Integer serverPerMinute, Optional<ApiKey> parent) {
    KeyCeiling {
        scopes = Set.copyOf(scopes);
    }

    static KeyCeiling of(Principal caller, Optional<ApiKey> parent, int serverPerMinute) {
        return new KeyCeiling(caller.scopes(), caller.admin() ? null : serverPerMinute, parent);
    }

    /** The key to create for {@code wanted}: its limits checked, and the parent's filled in where none were asked for. */
    KeyRequest grant(KeyRequest wanted) {
        for (Scope s : wanted.scopes()) {
            if (!scopes.contains(s) && !scopes.contains(Scope.ADMIN)) {
                throw ProblemException.field(ProblemType.INSUFFICIENT_SCOPE, "/scopes", "you cannot grant '" + s.value()
                        + "', which you do not hold");
            }
        }
        return new KeyRequest(wanted.name(), wanted.scopes(), expiry(wanted.expiresAt()),
                perMinute(wanted.rateLimitPerMinute()), quota(wanted.dailyQuota()),
                atMostParents(wanted.tokensPerMinute(), ApiKey::tokensPerMinute, "/tokens_per_minute", "tokens a minute"),
                atMostParents(wanted.tokensPerDay(), ApiKey::tokensPerDay, "/tokens_per_day", "tokens a day"));
    }

    /** A limit of the parent's at most, the parent's when none is asked for (a child's requests draw from it too). */
    private Integer atMostParents(Integer wanted, java.util.function.Function<ApiKey, Integer> limit, String field,
                                  String what) {
        Integer parentLimit = parent.map(limit).orElse(null);
        if (wanted == null) {
            return parentLimit;
        }
        if (parentLimit != null && wanted > parentLimit) {
            throw ProblemException.field(ProblemType.INSUFFICIENT_SCOPE, field, "this API key allows " + parentLimit
                    + " " + what + "; a key created with it may allow at most that");
        }
        return wanted;
    }

    private Integer perMinute(Integer wanted) {
        Integer parentLimit = parent.map(ApiKey::rateLimitPerMinute).orElse(null);
        if (wanted == null) {
            return parentLimit;
        }
        if (serverPerMinute != null && wanted > serverPerMinute) {
            throw ProblemException.field(ProblemType.LIMIT_TOO_HIGH, "/rate_limit_per_minute", "a key may allow at "
                    + "most " + serverPerMinute + " requests per minute on this server (its default limit); only an "
                    + "administrator may set more");
        }
        if (parentLimit != null && wanted > parentLimit) {
            throw ProblemException.field(ProblemType.INSUFFICIENT_SCOPE, "/rate_limit_per_minute", "this API key "
                    + "allows " + parentLimit + " requests per minute; a key created with it may allow at most that");
        }
        return wanted;
    }

    private Integer quota(Integer wanted) {
        Integer parentQuota = parent.map(ApiKey::dailyQuota).orElse(null);
        if (wanted == null) {
            return parentQuota;
        }
        if (parentQuota != null && wanted > parentQuota) {
            throw ProblemException.field(ProblemType.INSUFFICIENT_SCOPE, "/daily_quota", "this API key allows "
                    + parentQuota + " requests a day; a key created with it may allow at most that");
        }
        return wanted;
    }

    private Instant expiry(Instant wanted) {
        Instant parentExpiry = parent.map(ApiKey::expiresAt).orElse(null);
        if (wanted == null) {
            return parentExpiry;
        }
        if (parentExpiry != null && wanted.isAfter(parentExpiry)) {
            throw ProblemException.field(ProblemType.INSUFFICIENT_SCOPE, "/expires_at", "this API key expires at "
                    + parentExpiry + "; a key created with it must expire by then");
        }
        return wanted;
    }
}
