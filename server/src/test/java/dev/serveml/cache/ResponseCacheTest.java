package dev.serveml.cache;

import dev.serveml.auth.Principal;
import dev.serveml.auth.Role;
import dev.serveml.auth.Scope;
import dev.serveml.config.CacheConfig;
import dev.serveml.inference.CacheRule;
import dev.serveml.inference.CacheSlot;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.metrics.Meters;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelVersion;
import dev.serveml.runtime.Parameters;
import dev.serveml.registry.VersionState;
import dev.serveml.registry.VersionStatus;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static dev.serveml.cache.ResponseCacheContract.answer;
import static dev.serveml.cache.ResponseCacheContract.model;
import static dev.serveml.cache.ResponseCacheContract.row;
import static dev.serveml.cache.ResponseCacheContract.user;
import static dev.serveml.cache.ResponseCacheContract.version;
import static org.assertj.core.api.Assertions.assertThat;

/** The response-cache contract in process only, and the rest of the cache's rules (L2 behind a map stand-in). */
class ResponseCacheTest implements ResponseCacheContract {
    private static final CacheConfig ON = new CacheConfig(true, Duration.ofMinutes(5), 100);
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final Meters meters = new Meters();

    @Test
    void answersAHitAfterAMissForTheSameInputsAndVersion() {
        ResponseCache cache = cache(ON, Optional.empty());
        CacheSlot slot = slot(cache, model(null, null), 7, row(5.1f));

        assertThat(cache.find(slot).join()).isEmpty();
        cache.store(slot, answer());

        Map<String, Output> hit = cache.find(slot).join().orElseThrow();
        assertThat(hit.keySet()).containsExactly("label", "probabilities");
        assertThat(hit.get("label")).isEqualTo(answer().get("label"));
        assertThat(meters.scrape()).contains("serveml_cache_requests_total{level=\"l1\",result=\"hit\"} 1.0")
                .contains("serveml_cache_requests_total{level=\"l1\",result=\"miss\"} 1.0");
    }

    @Test
    void keysAreCanonicalOverInputOrderAndDifferInEveryPartThatMatters() {
        ResponseCache cache = cache(ON, Optional.empty());
        Model m = model(null, null);
        Tensor a = Tensor.ofFloats("a", new long[]{1, 2}, 1f, 2f);
        Tensor b = Tensor.ofFloats("b", new long[]{1}, 3f);
        String base = slot(cache, m, 1, List.of(a, b), Set.of()).key();

        assertThat(slot(cache, m, 1, List.of(b, a), Set.of()).key()).isEqualTo(base);
        assertThat(slot(cache, m, 2, List.of(a, b), Set.of()).key()).as("other version").isNotEqualTo(base);
        assertThat(slot(cache, m, 1, List.of(Tensor.ofFloats("a", new long[]{2, 1}, 1f, 2f), b), Set.of()).key())
                .as("other shape").isNotEqualTo(base);
        assertThat(slot(cache, m, 1, List.of(Tensor.ofFloats("a", new long[]{1, 2}, 1f, 2.5f), b), Set.of()).key())
                .as("other bytes").isNotEqualTo(base);
        assertThat(slot(cache, m, 1, List.of(a.renamed("c"), b), Set.of()).key()).as("other name").isNotEqualTo(base);
        assertThat(slot(cache, m, 1, List.of(a, b), Set.of("label")).key()).as("other outputs").isNotEqualTo(base);
        assertThat(slot(cache, m, 1, List.of(a, b), Set.of("x", "y")).key())
                .isEqualTo(slot(cache, m, 1, List.of(a, b), new java.util.TreeSet<>(List.of("y", "x"))).key());
    }

    @Test
    void forgetsAnAnswerOnceItsTimeToLiveHasPassedOnTheInjectedClock() {
        ResponseCache cache = cache(ON, Optional.empty());
        CacheSlot slot = slot(cache, model(null, 60), 1, row(1f));
        assertThat(slot.ttl()).isEqualTo(Duration.ofSeconds(60));
        cache.store(slot, answer());

        now.addAndGet(TimeUnit.SECONDS.toNanos(59));
        assertThat(cache.find(slot).join()).isPresent();
        now.addAndGet(TimeUnit.SECONDS.toNanos(2));
        assertThat(cache.find(slot).join()).isEmpty();
    }

    @Test
    void theOwnersCallsShareAnswersAndEveryOtherCallerHasItsOwnSoNoHitTellsOfAnotherCaller() {
        ResponseCache cache = cache(ON, Optional.empty());
        Model publicModel = model(null, null);
        CacheSlot owner = cache.slot(OWNER, publicModel, version(1), "", row(1f), Set.of(), CacheRule.MODEL).orElseThrow();
        CacheSlot ownersKey = cache.slot(new Principal(1, "owner", Role.USER, Set.of(Scope.PREDICT), 9, "10.0.0.9", 0, 0),
                publicModel, version(1), "", row(1f), Set.of(), CacheRule.MODEL).orElseThrow();
        CacheSlot userA = cache.slot(user(2, Role.USER), publicModel, version(1), "", row(1f), Set.of(), CacheRule.MODEL)
                .orElseThrow();
        CacheSlot userB = cache.slot(user(3, Role.USER), publicModel, version(1), "", row(1f), Set.of(), CacheRule.MODEL)
                .orElseThrow();
        CacheSlot admin = cache.slot(user(4, Role.ADMIN), publicModel, version(1), "", row(1f), Set.of(),
                CacheRule.MODEL).orElseThrow();
        CacheSlot anonymousX = cache.slot(Principal.anonymous("192.0.2.1"), publicModel, version(1), "", row(1f),
                Set.of(), CacheRule.MODEL).orElseThrow();
        CacheSlot anonymousY = cache.slot(Principal.anonymous("192.0.2.2"), publicModel, version(1), "", row(1f),
                Set.of(), CacheRule.MODEL).orElseThrow();

        assertThat(ownersKey.key()).as("the owner's key and session share").isEqualTo(owner.key());
        assertThat(List.of(owner.key(), userA.key(), userB.key(), admin.key(), anonymousX.key(), anonymousY.key()))
                .doesNotHaveDuplicates();
        cache.store(userA, answer());
        assertThat(cache.find(userA).join()).as("A's own repeat").isPresent();
        assertThat(cache.find(userB).join()).as("B learns nothing of A").isEmpty();
        assertThat(cache.find(owner).join()).as("nor does the owner").isEmpty();
    }

    @Test
    void keepsNoMoreAnswersThanItsSizeBound() {
        ResponseCache cache = cache(new CacheConfig(true, Duration.ofMinutes(5), 3), Optional.empty());
        for (int i = 0; i < 10; i++) {
            cache.store(slot(cache, model(null, null), 1, row(i)), answer());
        }
        assertThat(cache.size()).isEqualTo(3);
    }

    @Test
    void aModelCanTurnTheCacheOffOrOnWhateverTheServerDefault() {
        ResponseCache on = cache(ON, Optional.empty());
        assertThat(on.slot(OWNER, model(false, null), version(1), "", row(1f), Set.of(), CacheRule.MODEL)).isEmpty();
        assertThat(on.slot(OWNER, model(null, null), version(1), "", row(1f), Set.of(), CacheRule.MODEL)).isPresent();

        ResponseCache off = cache(new CacheConfig(false, Duration.ofMinutes(5), 100), Optional.empty());
        assertThat(off.slot(OWNER, model(null, null), version(1), "", row(1f), Set.of(), CacheRule.MODEL)).isEmpty();
        assertThat(off.slot(OWNER, model(true, null), version(1), "", row(1f), Set.of(), CacheRule.MODEL)).isPresent();
    }

    @Test
    void aDeploymentsRuleComesBeforeTheModelsSettings() {
        ResponseCache on = cache(ON, Optional.empty());
        CacheRule off = new CacheRule(Optional.of(false), Optional.empty());
        CacheRule shortLived = new CacheRule(Optional.of(true), Optional.of(Duration.ofSeconds(5)));

        assertThat(on.slot(OWNER, model(true, 60), version(1), "", row(1f), Set.of(), off)).isEmpty();
        assertThat(on.slot(OWNER, model(false, 60), version(1), "", row(1f), Set.of(), shortLived).orElseThrow().ttl())
                .isEqualTo(Duration.ofSeconds(5));
        assertThat(on.slot(OWNER, model(null, 60), version(1), "", row(1f), Set.of(),
                new CacheRule(Optional.empty(), Optional.empty())).orElseThrow().ttl())
                .as("nothing said: the model's ttl").isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void answersOfACopyLoadedWithAnotherEnvironmentAreKeptApart() {
        ResponseCache cache = cache(ON, Optional.empty());
        CacheSlot plain = cache.slot(OWNER, model(null, null), version(1), "", row(1f), Set.of(), CacheRule.MODEL).orElseThrow();
        CacheSlot tuned = cache.slot(OWNER, model(null, null), version(1), "ab12", row(1f), Set.of(), CacheRule.MODEL)
                .orElseThrow();

        cache.store(plain, answer());

        assertThat(tuned.key()).isNotEqualTo(plain.key());
        assertThat(cache.find(tuned).join()).isEmpty();
    }

    @Test
    void answersToOtherParametersAreKeptApartWhateverOrderTheyCameIn() {
        ResponseCache cache = cache(ON, Optional.empty());
        CacheSlot plain = cache.slot(OWNER, model(null, null), version(1), "", row(1f), Set.of(), CacheRule.MODEL).orElseThrow();
        CacheSlot one = slot(cache, new Parameters(java.util.Map.of("top_k", 1L)));
        CacheSlot two = slot(cache, new Parameters(java.util.Map.of("top_k", 2L)));
        CacheSlot text = slot(cache, new Parameters(java.util.Map.of("top_k", "2")));
        CacheSlot both = slot(cache, new Parameters(java.util.Map.of("top_k", 2L, "truncation", true)));
        CacheSlot bothAgain = slot(cache, new Parameters(java.util.Map.of("truncation", true, "top_k", 2L)));

        cache.store(one, answer());

        assertThat(Set.of(plain.key(), one.key(), two.key(), text.key(), both.key())).hasSize(5);
        assertThat(bothAgain.key()).isEqualTo(both.key());
        assertThat(plain.key()).isEqualTo(cache.slot(OWNER, model(null, null), version(1), "", row(1f), Set.of(),
                Parameters.NONE, CacheRule.MODEL).orElseThrow().key());
        assertThat(cache.find(two).join()).isEmpty();
        assertThat(cache.find(one).join()).isPresent();
    }

    @Test
    void aSampleWithoutASeedIsNeverCachedAndASeededOneIs() {
        ResponseCache cache = cache(ON, Optional.empty());
        assertThat(cache.slot(OWNER, model(null, null), version(1), "", row(1f), Set.of(),
                new Parameters(java.util.Map.of("do_sample", true)), CacheRule.MODEL)).as("a new sample each call").isEmpty();
        assertThat(cache.slot(OWNER, model(null, null), version(1), "", row(1f), Set.of(),
                new Parameters(java.util.Map.of("do_sample", true, "seed", 7L)), CacheRule.MODEL)).isPresent();
        assertThat(cache.slot(OWNER, model(null, null), version(1), "", row(1f), Set.of(),
                new Parameters(java.util.Map.of("do_sample", false)), CacheRule.MODEL)).isPresent();
    }

    private CacheSlot slot(ResponseCache cache, Parameters parameters) {
        return cache.slot(OWNER, model(null, null), version(1), "", row(1f), Set.of(), parameters, CacheRule.MODEL)
                .orElseThrow();
    }

    @Test
    void aSecondInstanceReadsThroughTheSharedTierAndThenAnswersFromItsOwn() {
        MapSharedCache shared = new MapSharedCache();
        ResponseCache first = cache(ON, Optional.of(shared));
        ResponseCache second = cache(ON, Optional.of(shared));
        CacheSlot slot = slot(first, model(null, null), 3, row(2f));

        first.store(slot, answer());
        assertThat(second.find(slot).join().orElseThrow().get("probabilities"))
                .isEqualTo(answer().get("probabilities"));
        assertThat(meters.scrape()).contains("serveml_cache_requests_total{level=\"l2\",result=\"hit\"} 1.0");

        shared.values.clear();
        assertThat(second.find(slot).join()).as("kept in the second instance's L1").isPresent();
        assertThat(meters.scrape()).contains("serveml_cache_requests_total{level=\"l1\",result=\"hit\"} 1.0");
    }

    @Test
    void aBrokenSharedTierReadsAsAMiss() {
        SharedCache broken = new MapSharedCache() {
            @Override
            public CompletableFuture<Optional<byte[]>> get(String key) {
                return CompletableFuture.completedFuture(Optional.of(new byte[]{9, 9}));
            }
        };
        ResponseCache cache = cache(ON, Optional.of(broken));
        assertThat(cache.find(slot(cache, model(null, null), 1, row(1f))).join()).isEmpty();
    }

    @Test
    void theBinaryFormRoundTripsTensorsAndMapSequences() {
        Map<String, Output> outputs = new LinkedHashMap<>(answer());
        outputs.put("text", Tensor.ofBytes("text", new long[]{2}, List.of("ab".getBytes(), new byte[0])));
        Map<String, Output> back = AnswerCodec.decode(AnswerCodec.encode(outputs));
        assertThat(back).isEqualTo(outputs);
    }

    @Override
    public ResponseCache cache() {
        return cache(ON, Optional.empty());
    }

    private ResponseCache cache(CacheConfig config, Optional<SharedCache> shared) {
        return new ResponseCache(config, shared, meters, now::get, Runnable::run);
    }

    private static CacheSlot slot(ResponseCache cache, Model m, long versionId, List<Tensor> inputs) {
        return slot(cache, m, versionId, inputs, Set.of());
    }

    private static CacheSlot slot(ResponseCache cache, Model m, long versionId, List<Tensor> inputs, Set<String> outputs) {
        return cache.slot(OWNER, m, version(versionId), "", inputs, outputs, CacheRule.MODEL).orElseThrow();
    }

    /** An in-memory second tier (a Redis stand-in for unit tests; the IT uses a real redis-server). */
    private static class MapSharedCache implements SharedCache {
        final Map<String, byte[]> values = new ConcurrentHashMap<>();

        @Override
        public CompletableFuture<Optional<byte[]>> get(String key) {
            return CompletableFuture.completedFuture(Optional.ofNullable(values.get(key)));
        }

        @Override
        public void put(String key, byte[] value, Duration ttl) {
            values.put(key, value);
        }

        @Override
        public void close() {
        }
    }
}
