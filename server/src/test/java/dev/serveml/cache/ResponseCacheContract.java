package dev.serveml.cache;

import dev.serveml.auth.Principal;
import dev.serveml.auth.Role;
import dev.serveml.auth.Scope;
import dev.serveml.inference.CacheRule;
import dev.serveml.inference.CacheSlot;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelVersion;
import dev.serveml.registry.VersionState;
import dev.serveml.registry.VersionStatus;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the response cache does whatever its second tier, written once: {@link ResponseCacheTest}
 * runs it in process only, {@link RedisSharedCacheIT} with a real redis-server behind it. Each
 * case caches under a version id of its own, so cases share one Redis in any order.
 */
interface ResponseCacheContract {
    /** The owner of {@link #model}'s models. */
    Principal OWNER = user(1, Role.USER);

    /** The cache under test, enabled, with room for more answers than any case stores. */
    ResponseCache cache();

    @Test
    default void aStoredAnswerIsFoundAgainWholeForTheSameInputs() throws Exception {
        try (ResponseCache cache = cache()) {
            CacheSlot slot = slot(cache, OWNER, newVersion(), row(5.1f));
            assertThat(cache.find(slot).get(5, TimeUnit.SECONDS)).isEmpty();

            Map<String, Output> outputs = new LinkedHashMap<>(answer());
            outputs.put("text", Tensor.ofBytes("text", new long[]{2}, List.of("ab".getBytes(), new byte[0])));
            cache.store(slot, outputs);

            assertThat(cache.find(slot).get(5, TimeUnit.SECONDS)).contains(outputs);
            assertThat(cache.findLocal(slot)).contains(outputs);
        }
    }

    @Test
    default void anAnswerIsNotFoundForOtherInputsAnotherVersionOrAnotherCaller() throws Exception {
        try (ResponseCache cache = cache()) {
            long version = newVersion();
            cache.store(slot(cache, OWNER, version, row(1f)), answer());

            assertThat(cache.find(slot(cache, OWNER, version, row(2f))).get(5, TimeUnit.SECONDS)).as("other inputs")
                    .isEmpty();
            assertThat(cache.find(slot(cache, OWNER, version + 1, row(1f))).get(5, TimeUnit.SECONDS))
                    .as("other version").isEmpty();
            assertThat(cache.find(slot(cache, user(2, Role.USER), version, row(1f))).get(5, TimeUnit.SECONDS))
                    .as("another caller").isEmpty();
        }
    }

    private static CacheSlot slot(ResponseCache cache, Principal caller, long versionId, List<Tensor> inputs) {
        return cache.slot(caller, model(null, null), version(versionId), "", inputs, Set.of(), CacheRule.MODEL)
                .orElseThrow();
    }

    /** A version id no other case (nor an earlier run on the same Redis) used. */
    private static long newVersion() {
        return ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE / 2) * 2;
    }

    static Principal user(long id, Role role) {
        return new Principal(id, "user" + id, role, role == Role.ADMIN ? Set.of(Scope.ADMIN) : Set.of(Scope.PREDICT), 0,
                "127.0.0.1", 0, 0);
    }

    static List<Tensor> row(float first) {
        return List.of(Tensor.ofFloats("input", new long[]{1, 4}, first, 3.5f, 1.4f, 0.2f));
    }

    static Map<String, Output> answer() {
        Map<String, Output> outputs = new LinkedHashMap<>();
        ByteBuffer label = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 2);
        outputs.put("label", Tensor.of("label", DataType.INT64, new long[]{1}, label));
        Map<String, Double> scores = new LinkedHashMap<>();
        scores.put("0", 0.1);
        scores.put("1", 0.2);
        scores.put("2", 0.7);
        outputs.put("probabilities", new MapSequence("probabilities", List.of(scores)));
        return outputs;
    }

    static Model model(Boolean cacheEnabled, Integer ttlSeconds) {
        return new Model(1, "iris", "", 1L, false, null, cacheEnabled, ttlSeconds, Instant.EPOCH, Instant.EPOCH,
                Optional.empty(), 1, 1);
    }

    static ModelVersion version(long id) {
        return new ModelVersion(id, 1, "iris", (int) id, "onnx", "onnx", "00", 1, "k", "iris.onnx",
                new Signature(List.of(), List.of()), VersionState.ACTIVE, VersionStatus.READY, "", Optional.empty(),
                Map.of(), Instant.EPOCH, Instant.EPOCH, Optional.empty());
    }
}
