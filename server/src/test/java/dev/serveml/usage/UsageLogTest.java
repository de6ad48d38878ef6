package dev.serveml.usage;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class UsageLogTest {
    /** Keeps what was added, in batches, and can be made to fail. */
    static final class Batches implements UsageStore {
        final List<List<UsageRow>> added = new ArrayList<>();
        final AtomicBoolean failing = new AtomicBoolean();

        @Override
        public synchronized void add(List<UsageRow> rows) {
            if (failing.get()) {
                throw new IllegalStateException("database down");
            }
            added.add(List.copyOf(rows));
        }

        @Override
        public synchronized List<UsageRow> query(UsageQuery query) {
            return added.stream().flatMap(List::stream).toList();
        }

        synchronized List<UsageRow> all() {
            return added.stream().flatMap(List::stream).toList();
        }
    }

    // 2023-11-14T23:59:59Z
    private final AtomicLong millis = new AtomicLong(1_700_006_399_000L);
    private final InstantSource clock = () -> Instant.ofEpochMilli(millis.get());
    private final Batches store = new Batches();

    @Test
    void answersAddUpPerKeyModelAndUtcDayIntoOneBatch() throws Exception {
        try (UsageLog usage = new UsageLog(store, clock, Duration.ofHours(1))) {
            usage.record(7, 1, "gpt", 5, 12);
            usage.record(7, 1, "gpt", 3, 4);
            usage.record(7, 2, "gpt", 1, 1);
            usage.record(7, 1, "bert", 9, 0);
            millis.addAndGet(1_000); // midnight UTC: a new day's row
            usage.record(7, 1, "gpt", 2, 2);
            usage.flush();
            assertThat(store.added).hasSize(1);
            assertThat(store.all()).containsExactlyInAnyOrder(
                    new UsageRow(LocalDate.parse("2023-11-14"), 7, 1, "gpt", 2, 8, 16),
                    new UsageRow(LocalDate.parse("2023-11-14"), 7, 2, "gpt", 1, 1, 1),
                    new UsageRow(LocalDate.parse("2023-11-14"), 7, 1, "bert", 1, 9, 0),
                    new UsageRow(LocalDate.parse("2023-11-15"), 7, 1, "gpt", 1, 2, 2));
            usage.flush();
            assertThat(store.added).as("nothing new, nothing written").hasSize(1);
        }
    }

    @Test
    void aBatchThatFailsIsKeptAndWrittenWithTheNextAndCloseWritesWhatIsLeft() throws Exception {
        UsageLog usage = new UsageLog(store, clock, Duration.ofHours(1));
        usage.record(7, 1, "gpt", 5, 12);
        store.failing.set(true);
        usage.flush();
        assertThat(store.all()).isEmpty();
        usage.record(7, 1, "gpt", 1, 1);
        store.failing.set(false);
        usage.record(8, 0, "gpt", 1, 0);
        usage.close();
        assertThat(store.all()).containsExactlyInAnyOrder(
                new UsageRow(LocalDate.parse("2023-11-14"), 7, 1, "gpt", 2, 6, 13),
                new UsageRow(LocalDate.parse("2023-11-14"), 8, 0, "gpt", 1, 1, 0));
    }
}
