package dev.serveml.imports;

import dev.serveml.hub.HubProgress;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ImportPaceTest {
    private Instant now = Instant.parse("2026-12-01T00:00:00Z");
    private final List<ImportPace.Reading> recorded = new ArrayList<>();
    private final ImportPace pace = new ImportPace(() -> now,
            recorded::add);

    private void at(long millis, long done) {
        now = Instant.parse("2026-12-01T00:00:00Z").plus(Duration.ofMillis(millis));
        pace.update(new HubProgress.Progress("onnx/model.onnx", done, 1000, done, 1000));
    }

    @Test
    void anEventIsRecordedAtEachFivePercentStepOrEverySecondAndNeverMoreOften() {
        at(0, 0);
        at(10, 10);
        at(20, 40);
        at(30, 50);
        at(40, 52);
        at(1040, 53);
        at(1050, 54);

        assertThat(recorded).extracting(ImportPace.Reading::percent).containsExactly(0, 5, 5);
    }

    @Test
    void thePercentNeverGoesBackWhenARetriedTransferCountsAgain() {
        at(0, 600);
        at(100, 300);
        at(1200, 320);

        assertThat(recorded).extracting(ImportPace.Reading::percent).containsExactly(60, 60);
    }

    @Test
    void theRateIsMeasuredOverTheLastSecondsAndGivesTheTimeLeft() {
        at(0, 0);
        at(1000, 100);
        at(2000, 200);

        ImportPace.Reading last = recorded.getLast();
        assertThat(last.rateBytesPerSecond()).isEqualTo(100);
        assertThat(last.etaSeconds()).isEqualTo(8);
        assertThat(recorded.getFirst().rateBytesPerSecond()).as("no rate before time has passed").isNull();
    }

    @Test
    void oneHundredPercentIsRecordedOnceWithNoTimeLeft() {
        at(0, 990);
        at(10, 1000);
        at(20, 1000);
        at(2000, 1000);

        assertThat(recorded).extracting(ImportPace.Reading::percent).containsExactly(99, 100);
        assertThat(recorded.getLast().etaSeconds()).isZero();
    }
}
