package dev.serveml.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.deployments.DeploymentChange;
import dev.serveml.deployments.DeploymentConfig;
import dev.serveml.deployments.DeploymentRequest;
import dev.serveml.deployments.TrafficPolicy;
import dev.serveml.inference.CacheRule;
import dev.serveml.inference.Serving;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Resources;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Deployment bodies as the API reads them: each wrong field named by its pointer, every wrong
 * field in one problem, and the policy and config judged only when the service asks (the
 * service's order of checks is held by DeploymentsIT).
 */
class DeploymentJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DeploymentConfig DEFAULTS = DeploymentConfig.defaults(new Serving(Resources.DEFAULT, 1,
            Duration.ofMillis(2), Duration.ZERO, Optional.empty()), Duration.ofSeconds(30));
    private static final TrafficPolicy ONE = new TrafficPolicy(List.of(new TrafficPolicy.Split(1, 100)),
            Optional.empty(), Optional.empty());

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    private static TrafficPolicy policy(String text) throws Exception {
        return DeploymentJson.policy(json(text), "/policy");
    }

    private static DeploymentConfig config(String text) throws Exception {
        return DeploymentJson.config(DEFAULTS, json(text), "/config");
    }

    /** Asserts an {@code invalid-deployment} problem with exactly these pointers and this detail. */
    private static void assertInvalid(AbstractThrowableAssert<?, ? extends Throwable> thrown, String detail,
                                      String... pointers) {
        thrown.isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.type()).isEqualTo(ProblemType.INVALID_DEPLOYMENT);
            assertThat(e.errors()).extracting(ProblemException.FieldError::pointer).containsExactly(pointers);
            assertThat(e.detail()).isEqualTo(detail);
        });
    }

    @Test
    void aPolicyReadsItsSplitsShadowAndStickyHeader() throws Exception {
        assertThat(policy("{\"versions\": [{\"version\": 1, \"weight\": 90}, {\"version\": 2, \"weight\": 10}], "
                + "\"shadow\": 3, \"sticky_header\": \"X-User-Id\"}")).isEqualTo(new TrafficPolicy(List.of(
                new TrafficPolicy.Split(1, 90), new TrafficPolicy.Split(2, 10)), Optional.of(3), Optional.of("X-User-Id")));
        assertThat(policy("{\"versions\": [{\"version\": 1, \"weight\": 100}], \"shadow\": null}")).isEqualTo(ONE);
    }

    @Test
    void weightsThatDoNotAddUpToAHundredAreRefusedNamingTheField() {
        assertInvalid(assertThatThrownBy(() -> policy("{\"versions\": [{\"version\": 1, \"weight\": 60}, "
                + "{\"version\": 2, \"weight\": 30}]}")), "the weights must add up to 100; they add up to 90",
                "/policy/versions");
    }

    @Test
    void aShadowThatIsAlsoAPrimaryIsRefused() {
        assertInvalid(assertThatThrownBy(() -> policy("{\"versions\": [{\"version\": 1, \"weight\": 100}], \"shadow\": 1}")),
                "the shadow version 1 is also a primary; a shadow must be a version that gets no live traffic",
                "/policy/shadow");
    }

    @Test
    void anEmptyListOfVersionsAndAPolicyThatIsNoObjectAreRefused() {
        assertInvalid(assertThatThrownBy(() -> policy("{\"versions\": []}")),
                "versions must be a non-empty list of {\"version\": n, \"weight\": percent}", "/policy/versions");
        assertInvalid(assertThatThrownBy(() -> policy("5")),
                "policy must be an object like {\"versions\": [{\"version\": 1, \"weight\": 100}]}", "/policy");
        assertInvalid(assertThatThrownBy(() -> DeploymentJson.policy(null, "/policy")),
                "policy must be an object like {\"versions\": [{\"version\": 1, \"weight\": 100}]}", "/policy");
    }

    @Test
    void everyWrongFieldOfAPolicyIsListedInOneProblem() {
        assertInvalid(assertThatThrownBy(() -> policy("{\"versions\": [{\"version\": 0, \"weight\": 100}, "
                        + "{\"version\": 2, \"weight\": 101}], \"sticky_header\": \"not a header\"}")),
                "3 fields are invalid: /policy/versions/0/version: version must be a version number (1, 2, ...); "
                        + "/policy/versions/1/weight: weight must be a whole percent from 1 to 100; "
                        + "/policy/sticky_header: sticky_header must be a header name such as X-User-Id",
                "/policy/versions/0/version", "/policy/versions/1/weight", "/policy/sticky_header");
        assertInvalid(assertThatThrownBy(() -> policy("{\"versions\": [{\"version\": 1, \"weight\": 50}, "
                + "{\"version\": 1, \"weight\": 50}]}")), "version 1 is listed twice", "/policy/versions/1/version");
    }

    @Test
    void aBatchSizeOfZeroIsRefusedNamingTheField() {
        assertInvalid(assertThatThrownBy(() -> config("{\"max_batch_size\": 0}")),
                "max_batch_size must be a whole number from 1 to 4096", "/config/max_batch_size");
    }

    @Test
    void reservedVariablesTinyMemoryAndABadWarmUpAreRefusedNamingTheField() {
        assertInvalid(assertThatThrownBy(() -> config("{\"env\": {\"PYTHONPATH\": \"/tmp\"}}")),
                "PYTHONPATH is set by ServeML for its workers and cannot be changed", "/config/env/PYTHONPATH");
        assertInvalid(assertThatThrownBy(() -> config("{\"memory_limit\": \"1MB\"}")),
                "memory_limit must be a size of at least 64MB, such as 512MB or 2GB (null for the server's default)",
                "/config/memory_limit");
        assertThatThrownBy(() -> config("{\"warmup\": 5}")).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.type()).isEqualTo(ProblemType.INVALID_DEPLOYMENT);
            assertThat(e.errors()).extracting(ProblemException.FieldError::pointer).containsExactly("/config/warmup");
            assertThat(e.detail()).startsWith("warmup must be a predict body for the model, e.g. "
                    + "{\"features\": [5.1, 3.5, 1.4, 0.2]}: ");
        });
        assertInvalid(assertThatThrownBy(() -> config("[1]")), "config must be an object", "/config");
    }

    @Test
    void everyWrongFieldOfACacheRuleIsListedInOneProblem() {
        assertInvalid(assertThatThrownBy(() -> config("{\"cache\": {\"enabled\": \"yes\", \"ttl\": \"-1s\"}}")),
                "2 fields are invalid: /config/cache/enabled: enabled must be true, false or null (the model's "
                        + "setting); /config/cache/ttl: ttl must be a duration such as 250ms, 30s or 5m (or "
                        + "milliseconds), more than zero", "/config/cache/enabled", "/config/cache/ttl");
    }

    @Test
    void aConfigChangesOnlyTheFieldsItNamesAndNullSetsOneBackToItsDefault() throws Exception {
        DeploymentConfig set = config("{\"instances\": 3, \"timeout\": \"5s\", \"max_queue_delay\": 10, "
                + "\"memory_limit\": \"512MB\", \"env\": {\"A\": \"b\"}, \"cache\": {\"enabled\": true, \"ttl\": \"90s\"}, "
                + "\"warmup\": {\"features\": [5.1, 3.5, 1.4, 0.2]}}");
        assertThat(set.instances()).isEqualTo(3);
        assertThat(set.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(set.maxQueueDelay()).isEqualTo(Duration.ofMillis(10));
        assertThat(set.memoryLimit()).hasValue(512L << 20);
        assertThat(set.env()).isEqualTo(Map.of("A", "b"));
        assertThat(set.cache()).isEqualTo(new CacheRule(Optional.of(true), Optional.of(Duration.ofSeconds(90))));
        assertThat(set.warmUp()).isPresent();
        assertThat(set.maxBatchSize()).isEqualTo(DEFAULTS.maxBatchSize());

        DeploymentConfig ttlOnly = DeploymentJson.config(set, json("{\"cache\": {\"ttl\": null}, \"timeout\": 2000}"),
                "/config");
        assertThat(ttlOnly.cache()).isEqualTo(new CacheRule(Optional.of(true), Optional.empty()));
        assertThat(ttlOnly.timeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(ttlOnly.env()).isEqualTo(set.env());

        DeploymentConfig reset = DeploymentJson.config(set, json("{\"instances\": null, \"memory_limit\": null, "
                + "\"cache\": null, \"warmup\": null}"), "/config");
        assertThat(reset.instances()).isZero();
        assertThat(reset.memoryLimit()).isEmpty();
        assertThat(reset.cache()).isEqualTo(CacheRule.MODEL);
        assertThat(reset.warmUp()).isEmpty();
        assertThat(reset.timeout()).isEqualTo(set.timeout());
        assertThat(DeploymentJson.config(set, null, "/config")).isSameAs(set);
        assertThat(DeploymentJson.config(set, json("null"), "/config")).isSameAs(set);
    }

    @Test
    void aCreationBodyThatIsNoObjectIsRefusedAtOnce() {
        for (String body : List.of("[]", "5", "\"d\"")) {
            assertThatThrownBy(() -> DeploymentJson.creation(json(body))).isInstanceOfSatisfying(ProblemException.class,
                    e -> assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST));
        }
    }

    @Test
    void aCreationBodyIsJudgedOnlyWhenTheServiceReachesEachPart() throws Exception {
        DeploymentRequest r = DeploymentJson.creation(json("{\"name\": 7, \"model\": [\"iris\"], \"policy\": 1, "
                + "\"config\": {\"max_batch_size\": 0}}"));
        assertThat(r.name()).isEmpty();
        assertThat(r.model()).isEmpty();
        assertInvalid(assertThatThrownBy(() -> r.policy().get()),
                "policy must be an object like {\"versions\": [{\"version\": 1, \"weight\": 100}]}", "/policy");
        assertInvalid(assertThatThrownBy(() -> r.config().apply(DEFAULTS)),
                "max_batch_size must be a whole number from 1 to 4096", "/config/max_batch_size");

        DeploymentRequest good = DeploymentJson.creation(json("{\"name\": \"d\", \"model\": \"iris\", \"policy\": "
                + "{\"versions\": [{\"version\": 1, \"weight\": 100}]}}"));
        assertThat(good.name()).hasValue("d");
        assertThat(good.model()).hasValue("iris");
        assertThat(good.policy().get()).isEqualTo(ONE);
        assertThat(good.config().apply(DEFAULTS)).isSameAs(DEFAULTS);
    }

    @Test
    void aChangeMustNameAPolicyOrAConfig() {
        for (String body : List.of("{}", "[]", "{\"name\": \"x\"}")) {
            assertThatThrownBy(() -> DeploymentJson.change(json(body))).isInstanceOfSatisfying(ProblemException.class,
                    e -> {
                        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
                        assertThat(e.detail()).isEqualTo("send {\"policy\": {...}} and/or {\"config\": {...}}");
                    });
        }
    }

    @Test
    void aChangeKeepsWhatItDoesNotNameAndJudgesWhatItNamesWhenApplied() throws Exception {
        TrafficPolicy canary = new TrafficPolicy(List.of(new TrafficPolicy.Split(1, 90), new TrafficPolicy.Split(2, 10)),
                Optional.empty(), Optional.empty());
        DeploymentChange configOnly = DeploymentJson.change(json("{\"config\": {\"timeout\": \"1s\"}}"));
        assertThat(configOnly.policy().apply(canary)).isSameAs(canary);
        assertThat(configOnly.config().apply(DEFAULTS).timeout()).isEqualTo(Duration.ofSeconds(1));

        DeploymentChange nullConfig = DeploymentJson.change(json("{\"config\": null}"));
        assertThat(nullConfig.config().apply(DEFAULTS)).isSameAs(DEFAULTS);

        DeploymentChange policyOnly = DeploymentJson.change(json("{\"policy\": {\"versions\": [{\"version\": 1, "
                + "\"weight\": 100}]}}"));
        assertThat(policyOnly.policy().apply(canary)).isEqualTo(ONE);
        assertThat(policyOnly.config().apply(DEFAULTS)).isSameAs(DEFAULTS);

        DeploymentChange nullPolicy = DeploymentJson.change(json("{\"policy\": null, \"config\": {\"max_batch_size\": 0}}"));
        assertInvalid(assertThatThrownBy(() -> nullPolicy.policy().apply(canary)),
                "policy must be an object like {\"versions\": [{\"version\": 1, \"weight\": 100}]}", "/policy");
    }
}
