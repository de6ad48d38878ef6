package dev.serveml.deployments;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.inference.CacheRule;
import dev.serveml.inference.Serving;
import dev.serveml.inference.WarmUp;
import dev.serveml.runtime.Resources;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How a policy spreads calls, and the stored forms of policies and configs (their HTTP form: http.DeploymentJsonTest). */
class TrafficPolicyTest {
    private static final DeploymentConfig DEFAULTS = DeploymentConfig.defaults(new Serving(Resources.DEFAULT, 1,
            Duration.ofMillis(2), Duration.ZERO, Optional.empty()), Duration.ofSeconds(30));

    private static TrafficPolicy policy(Optional<Integer> shadow, Optional<String> sticky, TrafficPolicy.Split... splits) {
        return new TrafficPolicy(List.of(splits), shadow, sticky);
    }

    @Test
    void aPolicyThatWouldRouteWronglyCannotBeBuiltWhoeverBuildsIt() {
        TrafficPolicy.Split half = new TrafficPolicy.Split(1, 50);
        assertThatThrownBy(() -> policy(Optional.empty(), Optional.empty())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> policy(Optional.empty(), Optional.empty(), half))
                .hasMessageContaining("add up to 50");
        assertThatThrownBy(() -> policy(Optional.empty(), Optional.empty(), half, half))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> policy(Optional.empty(), Optional.empty(), new TrafficPolicy.Split(1, 101),
                new TrafficPolicy.Split(2, -1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> policy(Optional.empty(), Optional.empty(), new TrafficPolicy.Split(0, 100)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> policy(Optional.of(1), Optional.empty(), new TrafficPolicy.Split(1, 100)))
                .hasMessageContaining("shadow");

        assertThat(policy(Optional.of(2), Optional.empty(), new TrafficPolicy.Split(1, 100)).allVersions())
                .containsExactly(1, 2);
    }

    @Test
    void weightsSplitTheHundredBucketsInListOrder() {
        TrafficPolicy p = policy(Optional.empty(), Optional.empty(), new TrafficPolicy.Split(3, 90),
                new TrafficPolicy.Split(4, 10));
        Map<Integer, Integer> counts = new HashMap<>();
        for (int r = 0; r < 100; r++) {
            counts.merge(p.choose(null, r), 1, Integer::sum);
        }
        assertThat(counts).isEqualTo(Map.of(3, 90, 4, 10));
    }

    @Test
    void theSameStickyValueAlwaysGetsTheSameVersionWhateverTheRandomNumber() {
        TrafficPolicy p = policy(Optional.empty(), Optional.of("X-User-Id"), new TrafficPolicy.Split(1, 50),
                new TrafficPolicy.Split(2, 50));
        for (String user : new String[]{"alice", "bob", "carol", "dave"}) {
            int first = p.choose(user, 0);
            for (int r = 0; r < 100; r++) {
                assertThat(p.choose(user, r)).isEqualTo(first);
            }
        }
    }

    @Test
    void promotingMakesOneVersionTheWholePrimaryWithoutShadow() {
        TrafficPolicy p = policy(Optional.of(2), Optional.empty(), new TrafficPolicy.Split(1, 100));
        assertThat(p.promoted(2).toJson().toString()).isEqualTo("{\"versions\":[{\"version\":2,\"weight\":100}]}");
    }

    @Test
    void aPolicySurvivesItsStoredFormWithAndWithoutShadowAndStickyHeader() throws Exception {
        for (TrafficPolicy p : List.of(policy(Optional.empty(), Optional.empty(), new TrafficPolicy.Split(1, 100)),
                policy(Optional.of(3), Optional.of("X-User"), new TrafficPolicy.Split(1, 90),
                        new TrafficPolicy.Split(2, 10)))) {
            // Read back from text, as the store reads its jsonb column.
            assertThat(TrafficPolicy.fromJson(new ObjectMapper().readTree(p.toJson().toString()))).isEqualTo(p);
        }
    }

    @Test
    void configSurvivesItsStoredForm() throws Exception {
        DeploymentConfig c = new DeploymentConfig(2, 8, Duration.ofMillis(5), Duration.ofSeconds(5),
                Optional.of(512L << 20), Map.of("A", "b"), Duration.ofMinutes(5), 1,
                new CacheRule(Optional.of(true), Optional.of(Duration.ofSeconds(90))),
                Optional.of(WarmUp.Sample.of(new ObjectMapper().readTree("{\"features\": [5.1, 3.5, 1.4, 0.2]}"))),
                new dev.serveml.monitor.LoggingRule(0.25, true, 4096, true,
                        Optional.of(java.net.URI.create("https://events.example.com/kserve"))));
        assertThat(DeploymentConfig.fromJson(c.toJson())).isEqualTo(c);
        assertThat(DeploymentConfig.fromJson(DEFAULTS.toJson())).isEqualTo(DEFAULTS);
    }
}
