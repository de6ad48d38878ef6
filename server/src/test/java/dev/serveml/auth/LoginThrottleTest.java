package dev.serveml.auth;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class LoginThrottleTest {
    private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);
    private final InstantSource clock = () -> Instant.ofEpochMilli(millis.get());
    private final LoginThrottle throttle = new LoginThrottle(clock);

    @Test
    void anAttackersFailuresFromOneAddressHoldBackThatAddressButNeverTheOwnerElsewhere() {
        for (int i = 0; i < 50; i++) {
            throttle.failed("owner", "203.0.113.7");
        }
        assertThat(throttle.waitSeconds("owner", "203.0.113.7")).as("the attacker waits").isPositive();
        assertThat(throttle.waitSeconds("owner", "198.51.100.1")).as("the owner does not").isZero();
    }

    @Test
    void pastFiveFailuresForOneAccountFromOneAddressEachTryWaitsTwiceAsLongUpToFiveMinutes() {
        for (int i = 0; i < LoginThrottle.FREE_FAILURES; i++) {
            throttle.failed("hank", "192.0.2.1");
        }
        assertThat(throttle.waitSeconds("hank", "192.0.2.1")).isZero();
        throttle.failed("hank", "192.0.2.1");
        assertThat(throttle.waitSeconds("hank", "192.0.2.1")).isEqualTo(1);
        throttle.failed("hank", "192.0.2.1");
        assertThat(throttle.waitSeconds("hank", "192.0.2.1")).isEqualTo(2);
        for (int i = 0; i < 8; i++) {
            throttle.failed("hank", "192.0.2.1");
        }
        assertThat(throttle.waitSeconds("hank", "192.0.2.1")).isEqualTo(LoginThrottle.MAX_DELAY_SECONDS);
        assertThat(throttle.waitSeconds("other", "192.0.2.1")).as("another account from there: the address has "
                + "room left").isZero();

        millis.addAndGet(LoginThrottle.MAX_DELAY_SECONDS * 1000);
        assertThat(throttle.waitSeconds("hank", "192.0.2.1")).isZero();
    }

    @Test
    void aSuccessClearsThatAddressesFailuresForTheAccountButNotTheAddressesOwnCount() {
        for (int i = 0; i < 7; i++) {
            throttle.failed("ivy", "192.0.2.1");
        }
        millis.addAndGet(10_000);
        throttle.succeeded("ivy", "192.0.2.1");
        assertThat(throttle.waitSeconds("ivy", "192.0.2.1")).isZero();

        // Guessing across many accounts from one address: the address's own count holds it back,
        // and signing in to an account of one's own does not reset that.
        for (int i = 0; i <= LoginThrottle.FREE_FAILURES_PER_ADDRESS; i++) {
            throttle.failed("victim" + i, "192.0.2.9");
        }
        throttle.succeeded("mine", "192.0.2.9");
        assertThat(throttle.waitSeconds("fresh-account", "192.0.2.9")).isPositive();
        assertThat(throttle.waitSeconds("fresh-account", "192.0.2.10")).isZero();
    }

    @Test
    void guessingOneAccountFromManyAddressesHoldsBackOnlyAddressesThatFailedForIt() {
        for (int i = 0; i <= LoginThrottle.ACCOUNT_CEILING; i++) {
            throttle.failed("target", "10.0." + (i / 250) + "." + (i % 250));
        }
        assertThat(throttle.waitSeconds("target", "10.0.0.3")).as("a guesser that failed once").isPositive();
        assertThat(throttle.waitSeconds("target", "198.51.100.1")).as("the owner's clean address").isZero();
        assertThat(throttle.waitSeconds("someone-else", "10.0.0.3")).isZero();
    }

    @Test
    void failuresAreForgottenAfterTheWindow() {
        for (int i = 0; i < 10; i++) {
            throttle.failed("jo", "192.0.2.1");
        }
        millis.addAndGet(LoginThrottle.WINDOW.toMillis() + 1);
        assertThat(throttle.waitSeconds("jo", "192.0.2.1")).isZero();
        throttle.failed("jo", "192.0.2.1");
        assertThat(throttle.waitSeconds("jo", "192.0.2.1")).as("counting starts again").isZero();
    }
}
