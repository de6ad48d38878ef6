package dev.serveml.http;

import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

/**
 * Who may call a route, declared with the route itself so that no route exists without a rule.
 *
 * @param kind  the rule
 * @param scope the scope the rule needs (for {@link Kind#SCOPE} and {@link Kind#OPTIONAL})
 */
public record Access(Kind kind, Scope scope) {
    /** The rules. */
    public enum Kind {
        /** Anyone, no credential read (health, docs, sign-in). */
        PUBLIC,
        /** Any valid credential. */
        AUTHENTICATED,
        /** A credential holding {@link #scope}. */
        SCOPE,
        /** Anonymous callers too (for public models); a credential must hold {@link #scope}. */
        OPTIONAL
    }

    public static final Access PUBLIC = new Access(Kind.PUBLIC, null);
    public static final Access AUTHENTICATED = new Access(Kind.AUTHENTICATED, null);

    public static Access scope(Scope scope) {
        return new Access(Kind.SCOPE, scope);
    }

    public static Access optional(Scope scope) {
        return new Access(Kind.OPTIONAL, scope);
    }

    /** Refuses the caller with 401 or 403 when the rule says so. */
    void enforce(Principal caller) {
        switch (kind) {
            case PUBLIC -> { }
            case AUTHENTICATED -> requireSignedIn(caller);
            case SCOPE -> {
                requireSignedIn(caller);
                requireScope(caller);
            }
            case OPTIONAL -> {
                if (!caller.anonymous()) {
                    requireScope(caller);
                }
            }
        }
    }

    private static void requireSignedIn(Principal caller) {
        if (caller.anonymous()) {
            throw new ProblemException(ProblemType.AUTHENTICATION_REQUIRED, "send an access token or API key as "
                    + "'Authorization: Bearer ...' (or 'X-API-Key: ...')");
        }
    }

    private void requireScope(Principal caller) {
        if (!caller.has(scope)) {
            throw new ProblemException(ProblemType.INSUFFICIENT_SCOPE, "this credential lacks the '" + scope.value()
                    + "' scope that this route needs");
        }
    }
}
