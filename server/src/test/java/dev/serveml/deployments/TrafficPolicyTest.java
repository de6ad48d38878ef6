package dev.serveml.deployments;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.inference.Serving;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Resources;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrafficPolicyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DeploymentConfig DEFAULTS = DeploymentConfig.defaults(new Serving(Resources.DEFAULT, 1,
            Duration.ofMillis(2), Duration.ZERO, java.util.Optional.empty()), Duration.ofSeconds(30));

    private static TrafficPolicy parse(String json) throws Exception {
        JsonNode node = JSON.readTree(json);
        return TrafficPolicy.parse(node, "/policy");
    }

    @Test
    void weightsSplitTheHundredBucketsInListOrder() throws Exception {
        TrafficPolicy p = parse("{\"versions\": [{\"version\": 3, \"weight\": 90}, {\"version\": 4, \"weight\": 10}]}");
        Map<Integer, Integer> counts = new HashMap<>();
        for (int r = 0; r < 100; r++) {
            counts.merge(p.choose(null, r), 1, Integer::sum);
        }
        assertThat(counts).isEqualTo(Map.of(3, 90, 4, 10));
    }

    @Test
    void theSameStickyValueAlwaysGetsTheSameVersionWhateverTheRandomNumber() throws Exception {
        TrafficPolicy p = parse("{\"versions\": [{\"version\": 1, \"weight\": 50}, {\"version\": 2, \"weight\": 50}],"
                + " \"sticky_header\": \"X-User-Id\"}");
        for (String user : new String[]{"alice", "bob", "carol", "dave"}) {
            int first = p.choose(user, 0);
            for (int r = 0; r < 100; r++) {
                assertThat(p.choose(user, r)).isEqualTo(first);
            }
        }
    }

    @Test
    void weightsThatDoNotAddUpToAHundredAreRefusedNamingTheField() {
        assertThatThrownBy(() -> parse("{\"versions\": [{\"version\": 1, \"weight\": 60}, {\"version\": 2, \"weight\": 30}]}"))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.type()).isEqualTo(ProblemType.INVALID_DEPLOYMENT);
                    assertThat(e.errors()).extracting(ProblemException.FieldError::pointer).containsExactly("/policy/versions");
                    assertThat(e.detail()).contains("add up to 90");
                });
    }

    @Test
    void aShadowThatIsAlsoAPrimaryIsRefused() {
        assertThatThrownBy(() -> parse("{\"versions\": [{\"version\": 1, \"weight\": 100}], \"shadow\": 1}"))
                .isInstanceOfSatisfying(ProblemException.class, e ->
                        assertThat(e.errors()).extracting(ProblemException.FieldError::pointer).containsExactly("/policy/shadow"));
    }

    @Test
    void promotingMakesOneVersionTheWholePrimaryWithoutShadow() throws Exception {
        TrafficPolicy p = parse("{\"versions\": [{\"version\": 1, \"weight\": 100}], \"shadow\": 2}");
        assertThat(p.promoted(2).toJson().toString()).isEqualTo("{\"versions\":[{\"version\":2,\"weight\":100}]}");
    }

    @Test
    void aBatchSizeOfZeroIsRefusedNamingTheField() throws Exception {
        assertThatThrownBy(() -> DEFAULTS.merge(JSON.readTree("{\"max_batch_size\": 0}"), "/config"))
                .isInstanceOfSatisfying(ProblemException.class, e ->
                        assertThat(e.errors()).extracting(ProblemException.FieldError::pointer)
                                .containsExactly("/config/max_batch_size"));
    }

    @Test
    void configSurvivesItsStoredForm() throws Exception {
        DeploymentConfig c = DEFAULTS.merge(JSON.readTree(
                "{\"timeout\": \"5s\", \"min_instances\": 1, \"env\": {\"A\": \"b\"}, \"memory_limit\": \"512MB\"}"), "/config");
        assertThat(DeploymentConfig.fromJson(c.toJson())).isEqualTo(c);
    }
}
