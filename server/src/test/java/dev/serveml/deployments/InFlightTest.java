package dev.serveml.deployments;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class InFlightTest {

    @Test
    void aDrainWithNoCallsRunningEndsAtOnce() {
        InFlight calls = new InFlight();
        assertThat(calls.drain(Duration.ofDays(1))).isZero();
    }

    @Test
    void aDrainedDeploymentRefusesNewCalls() {
        InFlight calls = new InFlight();
        calls.drain(Duration.ZERO);
        assertThat(calls.enter()).isFalse();
        assertThat(calls.running()).isZero();
    }

    @Test
    void theLastCallToEndReleasesTheDrain() throws Exception {
        InFlight calls = new InFlight();
        assertThat(calls.enter()).isTrue();
        assertThat(calls.enter()).isTrue();
        CompletableFuture<Integer> drain = CompletableFuture.supplyAsync(() -> calls.drain(Duration.ofDays(1)));
        calls.leave();
        calls.leave();
        // A day-long limit: only the last leave can end it.
        assertThat(drain.get(1, TimeUnit.MINUTES)).isZero();
        assertThat(calls.enter()).isFalse();
    }

    @Test
    void aDrainGivesUpAtItsLimitAndSaysHowManyCallsAreStillRunning() {
        InFlight calls = new InFlight();
        calls.enter();
        assertThat(calls.drain(Duration.ZERO)).isEqualTo(1);
    }
}
