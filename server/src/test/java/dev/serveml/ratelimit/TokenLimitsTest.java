package dev.serveml.ratelimit;

import dev.serveml.auth.Allowance;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Role;
import dev.serveml.auth.Scope;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenLimitsTest {
    // 2023-11-14T22:13:20Z: 6 400 s before midnight UTC.
    private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);
    private final InstantSource clock = () -> Instant.ofEpochMilli(millis.get());
    private final TokenLimits tokens = new TokenLimits(new LocalRateLimiter(clock), true);

    private static Principal key(long id, int perMinute, int perDay, List<Allowance> inherited) {
        return new Principal(7, "u", Role.USER, Set.of(Scope.PREDICT), id, "127.0.0.1", 0, 0, inherited, perMinute,
                perDay);
    }

    private static ProblemException refusal(TokenLimits tokens, Principal caller) {
        try {
            tokens.admit(caller).join();
        } catch (CompletionException e) {
            return (ProblemException) e.getCause();
        }
        throw new AssertionError("admitted");
    }

    @Test
    void aKeyWithoutTokenLimitsIsNotCountedAndASessionTokenNeither() {
        Principal plain = key(1, 0, 0, List.of());
        assertThat(tokens.applies(plain)).isFalse();
        assertThat(tokens.peek(plain).join()).isNull();
        tokens.charge(plain, 1_000_000).join();
        tokens.admit(plain).join();
        Principal session = new Principal(7, "u", Role.USER, Set.of(Scope.PREDICT), 0, "127.0.0.1", 0, 0, List.of(),
                10, 10);
        assertThat(tokens.applies(session)).isFalse();
        assertThat(new TokenLimits(new LocalRateLimiter(clock), false).applies(key(1, 10, 0, List.of())))
                .as("authentication off").isFalse();
    }

    @Test
    void anAnswerIsChargedInFullEvenPastTheLimitAndTheKeyIsRefusedUntilTheDebtHasRefilled() {
        Principal caller = key(1, 100, 0, List.of());
        tokens.admit(caller).join();
        Decision fresh = tokens.peekNow(caller);
        assertThat(fresh.limit()).isEqualTo(100);
        assertThat(fresh.remaining()).isEqualTo(100);
        assertThat(fresh.resetSeconds()).isZero();

        tokens.charge(caller, 40).join();
        Decision after = tokens.peekNow(caller);
        assertThat(after.remaining()).isEqualTo(60);
        assertThat(after.resetSeconds()).as("40 of 100 a minute refill in 24 s").isEqualTo(24);
        tokens.admit(caller).join();

        tokens.charge(caller, 110).join();
        Decision spent = tokens.peekNow(caller);
        assertThat(spent.allowed()).isFalse();
        assertThat(spent.remaining()).as("in debt, reported as 0").isZero();
        ProblemException refused = refusal(tokens, caller);
        assertThat(refused.type()).isEqualTo(ProblemType.RATE_LIMITED);
        assertThat(refused.detail()).contains("100 tokens per minute").contains("this API key");
        // 50 in debt: one token is back after 51 of them have refilled at 100 a minute, 30.6 s.
        assertThat(refused.retryAfterSeconds()).isEqualTo(31);

        millis.addAndGet(30_000);
        assertThat(tokens.admit(caller)).isCompletedExceptionally();
        millis.addAndGet(1_000);
        tokens.admit(caller).join();
    }

    @Test
    void aDailyQuotaIsRefusedAsQuotaExceededUntilMidnightUtc() {
        Principal caller = key(1, 0, 1000, List.of());
        tokens.charge(caller, 999).join();
        tokens.admit(caller).join();
        tokens.charge(caller, 5_000).join();
        ProblemException refused = refusal(tokens, caller);
        assertThat(refused.type()).isEqualTo(ProblemType.QUOTA_EXCEEDED);
        assertThat(refused.detail()).contains("1000 tokens").contains("midnight UTC");
        assertThat(tokens.peekNow(caller).resetSeconds()).isEqualTo(6_400);
        assertThat(refused.retryAfterSeconds()).isEqualTo(6_400);
        millis.addAndGet(6_400_000);
        tokens.admit(caller).join();
        assertThat(tokens.peekNow(caller).remaining()).as("the overshoot is not carried into the next day")
                .isEqualTo(1000);
    }

    @Test
    void childrenDrawFromTheirParentsTokensSoTheyCannotAddUpToMore() {
        Principal parent = key(1, 100, 0, List.of());
        Principal childA = key(2, 100, 0, List.of(new Allowance(1, 0, 0, 100, 0)));
        Principal childB = key(3, 0, 0, List.of(new Allowance(1, 0, 0, 100, 0)));
        assertThat(tokens.applies(childB)).as("an inherited token limit counts").isTrue();
        tokens.charge(childA, 60).join();
        tokens.charge(childB, 60).join();
        assertThat(tokens.peekNow(childA).remaining()).as("its own 40 left, the parent's none").isZero();
        ProblemException refused = refusal(tokens, childA);
        assertThat(refused.detail()).contains("created with");
        assertThat(refusal(tokens, childB).type()).isEqualTo(ProblemType.RATE_LIMITED);
        assertThat(refusal(tokens, parent).type()).as("the parent's own calls share the bucket")
                .isEqualTo(ProblemType.RATE_LIMITED);
        // A sibling without limits of its own is not held by another sibling's own bucket.
        millis.addAndGet(60_000);
        tokens.admit(childB).join();
    }

    @Test
    void theHeadersReportTheBucketWithTheFewestTokensLeft() {
        Principal child = key(2, 1000, 0, List.of(new Allowance(1, 0, 0, 50, 0)));
        tokens.charge(child, 20).join();
        Decision d = tokens.peek(child).join();
        assertThat(d.limit()).isEqualTo(50);
        assertThat(d.remaining()).isEqualTo(30);
        assertThat(TokenLimits.tightest(List.of(new Decision(true, 10, 5, 1, 0), new Decision(false, 100, 0, 1, 3),
                new Decision(true, 10, 0, 1, 0))).allowed()).as("a refused bucket first").isFalse();
    }
}
