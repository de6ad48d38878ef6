package dev.serveml.registry;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The serving snapshots stay bounded whatever names callers ask for. */
class SnapshotsTest {
    private final AtomicLong now = new AtomicLong();
    private final Snapshots<String> snapshots = new Snapshots<>(10_000, Duration.ofSeconds(5), now::get, Runnable::run);

    @Test
    void twentyThousandRandomNamesLeaveTheMapBounded() {
        for (int i = 0; i < 20_000; i++) {
            assertThat(snapshots.get("random-" + UUID.randomUUID(), name -> Optional.empty())).isEmpty();
        }

        assertThat(snapshots.size()).isLessThanOrEqualTo(10_000);
    }

    @Test
    void namesThatMatchedNoModelAreForgottenAfterAFewSeconds() {
        for (int i = 0; i < 1_000; i++) {
            snapshots.get("missing-" + i, name -> Optional.empty());
        }
        snapshots.get("iris", name -> Optional.of("the iris model"));

        now.addAndGet(Duration.ofSeconds(6).toNanos());

        assertThat(snapshots.size()).isEqualTo(1);
        assertThat(snapshots.find("iris")).contains("the iris model");
    }

    @Test
    void aNameThatMatchedNoModelIsReadAgainOnceForgotten() {
        AtomicInteger reads = new AtomicInteger();
        snapshots.get("late", name -> {
            reads.incrementAndGet();
            return Optional.empty();
        });
        assertThat(snapshots.get("late", name -> Optional.of("read again too soon"))).isEmpty();

        now.addAndGet(Duration.ofSeconds(6).toNanos());

        assertThat(snapshots.get("late", name -> Optional.of("uploaded since"))).contains("uploaded since");
        assertThat(reads).hasValue(1);
    }

    @Test
    void aKnownModelIsKeptUntilForgottenAndThenReadAgain() {
        snapshots.get("iris", name -> Optional.of("v1"));
        now.addAndGet(Duration.ofDays(1).toNanos());
        assertThat(snapshots.get("iris", name -> Optional.of("not read"))).contains("v1");

        snapshots.forget("iris");

        assertThat(snapshots.find("iris")).isEmpty();
        assertThat(snapshots.get("iris", name -> Optional.of("v2"))).contains("v2");
    }

    @Test
    void findNeverReadsAndSaysNothingForAnUnknownName() {
        snapshots.get("gone", name -> Optional.empty());

        assertThat(snapshots.find("gone")).isEmpty();
        assertThat(snapshots.find("never-asked")).isEmpty();
    }
}
