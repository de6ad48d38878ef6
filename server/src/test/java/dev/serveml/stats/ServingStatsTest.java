package dev.serveml.stats;

import dev.serveml.stats.ServingStats.Kind;
import dev.serveml.stats.ServingStats.Point;
import dev.serveml.stats.ServingStats.Report;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ServingStatsTest {
    /** A clock that moves only when the test says so. */
    static final class FakeClock implements InstantSource {
        private volatile long millis = Instant.parse("2026-01-01T10:00:00Z").toEpochMilli();

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }

        void advance(Duration d) {
            millis += d.toMillis();
        }
    }

    private static final long MS = 1_000_000L;
    private final FakeClock clock = new FakeClock();
    private final ServingStats stats = new ServingStats(clock);

    @Test
    void callsInOneStepMakeOnePointWithTheirCountsAndPercentiles() {
        for (int i = 1; i <= 100; i++) {
            stats.record(Kind.MODEL, "iris", i * MS, 200, i <= 25);
        }
        stats.record(Kind.MODEL, "iris", 5 * MS, 503, false);
        stats.record(Kind.MODEL, "iris", 5 * MS, 422, false);

        Report r = stats.report(Kind.MODEL, "iris");
        assertThat(r.stepSeconds()).isEqualTo(10);
        assertThat(r.windowSeconds()).isEqualTo(3600);
        assertThat(r.points()).hasSize(1);
        Point p = r.points().getFirst();
        assertThat(p.at()).isEqualTo(Instant.parse("2026-01-01T10:00:00Z"));
        assertThat(p.requests()).isEqualTo(102);
        assertThat(p.errors()).isEqualTo(1);
        assertThat(p.clientErrors()).isEqualTo(1);
        assertThat(p.cacheHits()).isEqualTo(25);
        // Latencies 1..100 ms: a quarter-octave histogram is within 19% of the true percentile.
        assertThat(p.p50Ms()).isCloseTo(50, within(50 * 0.19));
        assertThat(p.p95Ms()).isCloseTo(95, within(95 * 0.19));
        assertThat(p.p99Ms()).isCloseTo(99, within(99 * 0.19));
        assertThat(p.p50Ms()).isLessThan(p.p95Ms());
    }

    @Test
    void aNewStepStartsANewBucketAndQuietStepsBetweenAreZeros() {
        stats.record(Kind.DEPLOYMENT, "web", 2 * MS, 200, false);
        clock.advance(Duration.ofSeconds(30));
        stats.record(Kind.DEPLOYMENT, "web", 4 * MS, 200, false);
        stats.record(Kind.DEPLOYMENT, "web", 4 * MS, 200, false);

        Report r = stats.report(Kind.DEPLOYMENT, "web");
        assertThat(r.points()).extracting(Point::requests).containsExactly(1L, 0L, 0L, 2L);
        assertThat(r.points().get(1).p50Ms()).isNull();
        assertThat(r.points().get(3).at()).isEqualTo(Instant.parse("2026-01-01T10:00:30Z"));
        assertThat(r.points().get(3).p50Ms()).isCloseTo(4, within(4 * 0.19));
    }

    @Test
    void aSummaryRatesTheLastFiveMinutes() {
        for (int step = 0; step < 60; step++) { // ten minutes, six calls a step: 36 a minute
            for (int i = 0; i < 6; i++) {
                stats.record(Kind.MODEL, "m", 10 * MS, i == 0 ? 500 : 200, i >= 3); // hits only on answers
            }
            clock.advance(Duration.ofSeconds(10));
        }
        ServingStats.Summary s = stats.report(Kind.MODEL, "m").summary();
        // The current step has no calls yet; the 29 full steps before it are in the five minutes.
        assertThat(s.requests()).isEqualTo(29 * 6);
        // Over the 290 s they span: the true rate.
        assertThat(s.requestsPerMinute()).isCloseTo(36, within(0.01));
        assertThat(s.errorRate()).isCloseTo(1 / 6.0, within(1e-9));
        assertThat(s.cacheHitRate()).isCloseTo(0.5, within(1e-9));
        assertThat(s.p95Ms()).isCloseTo(10, within(10 * 0.19));
    }

    @Test
    void aKeyWithoutCallsHasNoPointsAndNullRates() {
        Report r = stats.report(Kind.MODEL, "never-called");
        assertThat(r.points()).isEmpty();
        assertThat(r.summary().requestsPerMinute()).isZero();
        assertThat(r.summary().p95Ms()).isNull();
        assertThat(r.summary().errorRate()).isNull();
    }

    @Test
    void callsOlderThanTheWindowLeaveTheReportAndIdleKeysAreSwept() {
        stats.record(Kind.MODEL, "old", MS, 200, false);
        stats.record(Kind.MODEL, "busy", MS, 200, false);
        clock.advance(Duration.ofMinutes(59));
        stats.record(Kind.MODEL, "busy", MS, 200, false);
        // From the first step with a call to now, quiet steps as zeros.
        assertThat(stats.report(Kind.MODEL, "old").points()).hasSize(355).first()
                .satisfies(p -> assertThat(p.requests()).isEqualTo(1));
        assertThat(stats.report(Kind.MODEL, "busy").points()).hasSize(355)
                .extracting(Point::requests).containsOnly(0L, 1L);

        clock.advance(Duration.ofMinutes(1));
        assertThat(stats.report(Kind.MODEL, "old").points()).isEmpty();
        assertThat(stats.report(Kind.MODEL, "busy").points()).hasSize(7).first()
                .satisfies(p -> assertThat(p.requests()).isEqualTo(1));
        stats.sweep();
        assertThat(stats.size(Kind.MODEL)).isEqualTo(1);
    }

    @Test
    void aSlotReusedAfterAWholeWindowHoldsOnlyTheNewCalls() {
        stats.record(Kind.MODEL, "m", MS, 200, false);
        clock.advance(Duration.ofHours(1));
        stats.record(Kind.MODEL, "m", MS, 200, false);
        assertThat(stats.report(Kind.MODEL, "m").points()).extracting(Point::requests).containsExactly(1L);
    }

    @Test
    void keysAreBoundedAndFreedByIdleExpiryOrForgetting() {
        ServingStats small = new ServingStats(clock, Duration.ofSeconds(10), Duration.ofMinutes(1), 2);
        small.record(Kind.MODEL, "a", MS, 200, false);
        small.record(Kind.MODEL, "b", MS, 200, false);
        small.record(Kind.MODEL, "c", MS, 200, false);
        small.record(Kind.DEPLOYMENT, "c", MS, 200, false);
        assertThat(small.size(Kind.MODEL)).isEqualTo(2);
        assertThat(small.dropped()).isEqualTo(1);
        assertThat(small.report(Kind.DEPLOYMENT, "c").points()).hasSize(1);

        small.forget(Kind.MODEL, "a");
        small.record(Kind.MODEL, "c", MS, 200, false);
        assertThat(small.report(Kind.MODEL, "c").points()).hasSize(1);
        assertThat(small.report(Kind.MODEL, "a").points()).isEmpty();

        clock.advance(Duration.ofMinutes(1));
        small.record(Kind.MODEL, "d", MS, 200, false); // b and c are idle now: swept to make room
        assertThat(small.size(Kind.MODEL)).isEqualTo(1);
        assertThat(small.dropped()).isEqualTo(1);
    }

    @Test
    void histogramBinsAreOrderedAndCoverTheirLatencies() {
        for (long nanos : new long[]{0, 999, 1_024, 1_500, 80_000, 1_000_000, 12_345_678, 60_000_000_000L}) {
            int bin = LatencyBins.of(nanos);
            assertThat(LatencyBins.lower(bin)).isLessThanOrEqualTo(nanos);
            assertThat(LatencyBins.upper(bin)).isGreaterThan(nanos);
        }
        for (int bin = 1; bin < LatencyBins.COUNT; bin++) {
            assertThat(LatencyBins.lower(bin)).isEqualTo(LatencyBins.upper(bin - 1));
        }
        assertThat(LatencyBins.of(Long.MAX_VALUE)).isEqualTo(LatencyBins.COUNT - 1);
        assertThat(LatencyBins.of(-5)).isZero();
    }
}
