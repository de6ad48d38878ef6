package dev.serveml.ratelimit;

import dev.serveml.auth.Allowance;
import dev.serveml.auth.Principal;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The model tokens (prompt and completion) an API key's answers may take, per minute and per UTC
 * day, drawn from the key's own buckets and those of every key it was created from. A call's cost
 * is known only once the model has answered, so a call is admitted while its buckets are not spent
 * and charged afterwards in full: the last admitted call may take a per-minute bucket below
 * empty, and the key then waits for the debt to refill (as OpenAI's token limits behave); a daily
 * quota is used up at the first answer that reaches it and is full again at midnight UTC. Only API keys with
 * a token limit of their own or inherited are counted; everyone else costs nothing here.
 * Thread-safe.
 */
public final class TokenLimits {
    /** One bucket a caller's tokens come from. */
    private record Budget(String key, Limit limit, boolean own) {
    }

    private final RateLimiter limiter;
    private final boolean enabled;

    /** @param enabled false when authentication is off (nobody has keys) */
    public TokenLimits(RateLimiter limiter, boolean enabled) {
        this.limiter = limiter;
        this.enabled = enabled;
    }

    /** Whether this caller's answers are counted against token limits at all. Cheap: runs on every call. */
    public boolean applies(Principal caller) {
        if (!enabled || caller.apiKeyId() <= 0) {
            return false;
        }
        if (caller.tokensPerMinute() > 0 || caller.tokensPerDay() > 0) {
            return true;
        }
        for (Allowance a : caller.inherited()) { // a loop, not a stream: this runs on every request
            if (a.limitsTokens()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Refuses a caller whose tokens are spent: completes normally while every bucket has a token
     * left, else exceptionally with 429 {@code rate-limited} (a per-minute limit, Retry-After when it
     * has refilled past its debt) or {@code quota-exceeded} (a daily quota, until midnight UTC).
     */
    public CompletableFuture<Void> admit(Principal caller) {
        if (!applies(caller)) {
            return CompletableFuture.completedFuture(null);
        }
        List<Budget> budgets = budgets(caller);
        return peekAll(budgets).thenApply(decisions -> {
            for (int i = 0; i < budgets.size(); i++) {
                if (!decisions.get(i).allowed()) {
                    throw refusal(budgets.get(i), decisions.get(i));
                }
            }
            return null;
        });
    }

    /** Every bucket's figures, in the budgets' order, without taking anything. */
    private CompletableFuture<List<Decision>> peekAll(List<Budget> budgets) {
        List<CompletableFuture<Decision>> peeks = new ArrayList<>(budgets.size());
        for (Budget b : budgets) {
            peeks.add(limiter.peek(b.key(), b.limit()));
        }
        return CompletableFuture.allOf(peeks.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<Decision> decisions = new ArrayList<>(peeks.size());
            for (CompletableFuture<Decision> p : peeks) {
                decisions.add(p.join());
            }
            return decisions;
        });
    }

    /**
     * The figures for the {@code x-ratelimit-*-tokens} headers: the bucket with the fewest tokens
     * left (a spent one first), as it is before this request's answer is charged; null when the
     * caller has no token limit.
     */
    public CompletableFuture<Decision> peek(Principal caller) {
        if (!applies(caller)) {
            return CompletableFuture.completedFuture(null);
        }
        return peekAll(budgets(caller)).thenApply(TokenLimits::tightest);
    }

    /** {@link #peek} at once when the buckets are in this process; null when only {@link #peek} can. */
    public Decision peekNow(Principal caller) {
        List<Budget> budgets = budgets(caller);
        List<Decision> decisions = new ArrayList<>(budgets.size());
        for (Budget b : budgets) {
            Decision d = limiter.peekNow(b.key(), b.limit());
            if (d == null) {
                return null;
            }
            decisions.add(d);
        }
        return tightest(decisions);
    }

    /**
     * Charges an answer's tokens to every bucket the caller draws from. Completes when they are
     * all charged, so the caller's next request sees them.
     */
    public CompletableFuture<Void> charge(Principal caller, long tokens) {
        if (tokens <= 0 || !applies(caller)) {
            return CompletableFuture.completedFuture(null);
        }
        List<Budget> budgets = budgets(caller);
        CompletableFuture<?>[] charges = new CompletableFuture<?>[budgets.size()];
        for (int i = 0; i < charges.length; i++) {
            charges[i] = limiter.charge(budgets.get(i).key(), budgets.get(i).limit(), tokens);
        }
        return CompletableFuture.allOf(charges);
    }

    static Decision tightest(List<Decision> decisions) {
        Decision tightest = null;
        for (Decision d : decisions) {
            if (tightest == null || (tightest.allowed() && !d.allowed())
                    || (tightest.allowed() == d.allowed() && d.remaining() < tightest.remaining())) {
                tightest = d;
            }
        }
        return tightest;
    }

    /** The caller's own buckets, then its ancestors' (nearest first), per minute before per day. */
    private static List<Budget> budgets(Principal caller) {
        List<Budget> budgets = new ArrayList<>(2 + 2 * caller.inherited().size());
        add(budgets, caller.apiKeyId(), caller.tokensPerMinute(), caller.tokensPerDay(), true);
        for (Allowance a : caller.inherited()) {
            add(budgets, a.keyId(), a.tokensPerMinute(), a.tokensPerDay(), false);
        }
        return budgets;
    }

    private static void add(List<Budget> budgets, long keyId, int perMinute, int perDay, boolean own) {
        if (perMinute > 0) {
            budgets.add(new Budget("tokens:key:" + keyId, Limit.perMinute(perMinute), own));
        }
        if (perDay > 0) {
            budgets.add(new Budget("tokens-day:key:" + keyId, Limit.perDay(perDay), own));
        }
    }

    private static ProblemException refusal(Budget b, Decision d) {
        String of = b.own() ? "" : " of the API key this one was created with";
        if (b.limit().quota()) {
            return new ProblemException(ProblemType.QUOTA_EXCEEDED, "the daily quota of " + b.limit().capacity()
                    + " tokens" + (b.own() ? " of this API key" : of) + " is used up; it resets at midnight UTC")
                    .retryAfter(d.retryAfterSeconds());
        }
        return new ProblemException(ProblemType.RATE_LIMITED, "the limit of " + b.limit().capacity()
                + " tokens per minute" + (b.own() ? " of this API key" : of) + " is spent; retry in "
                + d.retryAfterSeconds() + " s").retryAfter(d.retryAfterSeconds());
    }
}
