package dev.serveml.ratelimit;

import dev.serveml.auth.Principal;
import dev.serveml.config.AuthConfig;
import dev.serveml.inference.Admission;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.Model;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Which bucket a request draws from: the API key's (with its own limit and daily quota), else the
 * user's, else the anonymous caller's address; and, as an {@link Admission}, a model's own
 * per-caller limit. Thread-safe.
 */
public final class RequestLimits implements Admission {
    private final RateLimiter limiter;
    private final AuthConfig config;

    public RequestLimits(RateLimiter limiter, AuthConfig config) {
        this.limiter = limiter;
        this.config = config;
    }

    public RateLimiter limiter() {
        return limiter;
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
        CompletableFuture<Decision> perMinute = limiter.consume(key, limitFor(caller));
        if (caller.dailyQuota() <= 0) {
            return perMinute;
        }
        return perMinute.thenCompose(d -> !d.allowed() ? CompletableFuture.completedFuture(d)
                : limiter.consume("quota:" + key, Limit.perDay(caller.dailyQuota())).thenApply(q -> {
                    if (!q.allowed()) {
                        throw new ProblemException(ProblemType.QUOTA_EXCEEDED, "this API key's daily quota of "
                                + caller.dailyQuota() + " requests is used up; it resets at midnight UTC")
                                .retryAfter(q.retryAfterSeconds());
                    }
                    return d;
                }));
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
        return limiter.consumeNow(callerKey(caller), limitFor(caller));
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
