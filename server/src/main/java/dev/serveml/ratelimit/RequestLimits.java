package dev.serveml.ratelimit;

import dev.serveml.auth.Allowance;
import dev.serveml.auth.Principal;
import dev.serveml.config.AuthConfig;
import dev.serveml.inference.Admission;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.Model;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Which bucket a request draws from: the API key's (with its own limit and daily quota, and those
 * of the keys it was created from), else the user's, else the anonymous caller's address; the
 * sign-in routes' own small bucket per client address; and, as an {@link Admission}, a model's own
 * per-caller limit. Thread-safe.
 */
public final class RequestLimits implements Admission {
    private final RateLimiter limiter;
    private final AuthConfig config;
    private final TokenLimits tokens;

    public RequestLimits(RateLimiter limiter, AuthConfig config) {
        this.limiter = limiter;
        this.config = config;
        this.tokens = new TokenLimits(limiter, config.enabled());
    }

    public RateLimiter limiter() {
        return limiter;
    }

    /** The token limits on the same buckets (charged by the predictor, reported by the HTTP API). */
    public TokenLimits tokens() {
        return tokens;
    }

    /**
     * Takes a token for this request; the decision carries the RateLimit-* figures. Null when
     * nothing is limited (authentication off: one local user, nobody to share with).
     */
    public CompletableFuture<Decision> admit(Principal caller) {
        if (!config.enabled()) {
            return CompletableFuture.completedFuture(null);
        }
        String key = callerKey(caller);
        CompletableFuture<Decision> decided = limiter.consume(key, limitFor(caller));
        // A key created with a key draws from its ancestors' buckets too: children never add up to
        // more than their parent allows. The caller's own decision is the one reported when all allow.
        for (Allowance a : caller.inherited()) {
            if (a.perMinute() > 0) {
                decided = decided.thenCompose(d -> !d.allowed() ? CompletableFuture.completedFuture(d)
                        : limiter.consume("key:" + a.keyId(), Limit.perMinute(a.perMinute()))
                        .thenApply(up -> up.allowed() ? d : up));
            }
        }
        if (caller.dailyQuota() > 0) {
            decided = quota(decided, "quota:" + key, caller.dailyQuota(), "this API key's daily quota of "
                    + caller.dailyQuota() + " requests");
        }
        for (Allowance a : caller.inherited()) {
            if (a.dailyQuota() > 0) {
                decided = quota(decided, "quota:key:" + a.keyId(), a.dailyQuota(), "the daily quota of "
                        + a.dailyQuota() + " requests of the API key this one was created with");
            }
        }
        return decided;
    }

    private CompletableFuture<Decision> quota(CompletableFuture<Decision> before, String key, int quota, String what) {
        return before.thenCompose(d -> !d.allowed() ? CompletableFuture.completedFuture(d)
                : limiter.consume(key, Limit.perDay(quota)).thenApply(q -> {
                    if (!q.allowed()) {
                        throw new ProblemException(ProblemType.QUOTA_EXCEEDED, what + " is used up; it resets at "
                                + "midnight UTC").retryAfter(q.retryAfterSeconds());
                    }
                    return d;
                }));
    }

    /**
     * Takes a token from the sign-in bucket of a client address (register, login, refresh): each
     * costs a bcrypt computation or a database write, and they are open to anyone. The address is
     * the connection's peer (X-Forwarded-For is not trusted); an IPv6 address counts by its /64,
     * which one client usually holds whole. Applies whether or not authentication is on.
     */
    public CompletableFuture<Decision> admitSignIn(String ip) {
        return limiter.consume("signin:" + network(ip), Limit.perMinute(config.signInPerMinute()));
    }

    /** The sign-in limit per address per minute, for messages. */
    public int signInPerMinute() {
        return config.signInPerMinute();
    }

    /** An IPv4 address as it is; an IPv6 address as its /64 prefix. */
    static String network(String ip) {
        if (ip.indexOf(':') < 0) {
            return ip;
        }
        try {
            // A literal address: getByName parses it without any lookup.
            byte[] bytes = java.net.InetAddress.getByName(ip).getAddress();
            if (bytes.length != 16) {
                return java.net.InetAddress.getByAddress(bytes).getHostAddress();
            }
            return java.util.HexFormat.of().formatHex(bytes, 0, 8) + "::/64";
        } catch (java.net.UnknownHostException e) {
            return ip;
        }
    }

    @Override
    public boolean checks(Model model) {
        return model.rateLimitPerMinute() != null;
    }

    /** What {@link #admitNow} answers when nothing is limited. */
    public static final Decision UNLIMITED = new Decision(true, 0, 0, 0, 0);

    /**
     * {@link #admit} without waiting: the decision, {@link #UNLIMITED}, or null when the bucket is
     * remote or a quota applies (then call {@link #admit}).
     */
    public Decision admitNow(Principal caller) {
        if (!config.enabled()) {
            return UNLIMITED;
        }
        if (caller.dailyQuota() > 0) {
            return null;
        }
        for (Allowance a : caller.inherited()) { // a loop, not a stream: this runs on every request
            if (a.dailyQuota() > 0) {
                return null;
            }
        }
        Decision own = limiter.consumeNow(callerKey(caller), limitFor(caller));
        if (own == null || !own.allowed()) {
            return own;
        }
        // Buckets here are local when the caller's was: the ancestors' answer at once too.
        for (Allowance a : caller.inherited()) {
            if (a.perMinute() > 0) {
                Decision up = limiter.consumeNow("key:" + a.keyId(), Limit.perMinute(a.perMinute()));
                if (up != null && !up.allowed()) {
                    return up;
                }
            }
        }
        return own;
    }

    /** The per-minute limit of this caller: the key's own, else the default, or the anonymous one. */
    private Limit limitFor(Principal caller) {
        return Limit.perMinute(caller.anonymous() ? config.anonymousPerMinute()
                : caller.rateLimitPerMinute() > 0 ? caller.rateLimitPerMinute() : config.rateLimitPerMinute());
    }

    /** A model's own per-caller limit (blocking briefly: runs on the inference executor). */
    @Override
    public void admit(Principal caller, Model model) {
        if (model.rateLimitPerMinute() == null) {
            return;
        }
        Decision d = limiter.consume("model:" + model.name() + ":" + callerKey(caller),
                Limit.perMinute(model.rateLimitPerMinute())).orTimeout(2, TimeUnit.SECONDS).join();
        if (!d.allowed()) {
            throw new ProblemException(ProblemType.RATE_LIMITED, "model '" + model.name() + "' allows "
                    + model.rateLimitPerMinute() + " requests per minute per caller").retryAfter(d.retryAfterSeconds());
        }
    }

    private static String callerKey(Principal caller) {
        if (caller.anonymous()) {
            return "ip:" + caller.ip();
        }
        return caller.apiKeyId() > 0 ? "key:" + caller.apiKeyId() : "user:" + caller.userId();
    }
}
