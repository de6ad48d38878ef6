package dev.serveml.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.serveml.auth.Principal;
import dev.serveml.config.CacheConfig;
import dev.serveml.inference.AnswerCache;
import dev.serveml.inference.CacheRule;
import dev.serveml.inference.CacheSlot;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import dev.serveml.metrics.Meters;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelVersion;
import dev.serveml.runtime.Parameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Two-tier response cache: L1 in process (Caffeine, bounded by entries and by each entry's time
 * to live, on an injected {@link Ticker}), L2 optionally shared ({@link SharedCache}, Redis).
 * Reads try L1, then L2 (a hit there fills L1); writes go to both. Thread-safe.
 *
 * <p>Answers are shared only among the model owner's own calls. Every other caller (another user
 * on a public model, an admin, an anonymous address) has a partition of its own: were answers
 * shared, a hit (its {@code X-Cache} flag, or just its speed) would tell one caller that another
 * asked exactly this input recently.
 *
 * <p>Metrics: {@code serveml_cache_requests_total{result, level}}: a hit counts at the tier that
 * answered; a miss and a bypass count at the deepest tier there is ({@code l2} with Redis).
 */
public final class ResponseCache implements AnswerCache, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ResponseCache.class);
    private static final CompletableFuture<Optional<Map<String, Output>>> NONE =
            CompletableFuture.completedFuture(Optional.empty());

    private record Entry(Map<String, Output> outputs, long ttlNanos) {
    }

    private final CacheConfig config;
    private final Optional<SharedCache> shared;
    private final Meters meters;
    private final Cache<String, Entry> local;
    private final String deepest;

    /**
     * @param ticker      the clock of L1's expiry (a fake one in tests)
     * @param maintenance where Caffeine does its eviction work ({@code Runnable::run} in tests)
     */
    public ResponseCache(CacheConfig config, Optional<SharedCache> shared, Meters meters, Ticker ticker,
                         Executor maintenance) {
        this.config = config;
        this.shared = shared;
        this.meters = meters;
        this.deepest = shared.isPresent() ? "l2" : "l1";
        this.local = Caffeine.newBuilder()
                .maximumSize(config.maxEntries())
                .expireAfter(Expiry.<String, Entry>creating((key, entry) -> Duration.ofNanos(entry.ttlNanos())))
                .ticker(ticker)
                .executor(maintenance)
                .build();
    }

    @Override
    public Optional<CacheSlot> slot(Principal caller, Model model, ModelVersion version, String variant,
                                    List<Tensor> inputs, Set<String> outputs, Parameters parameters,
                                    CacheRule rule) {
        boolean enabled = rule.enabled().orElseGet(() -> model.cacheEnabled() == null ? config.enabled()
                : model.cacheEnabled());
        if (!enabled || parameters.unseededSampling()) {
            return Optional.empty();
        }
        Duration ttl = rule.ttl().orElseGet(() -> model.cacheTtlSeconds() == null ? config.ttl()
                : Duration.ofSeconds(model.cacheTtlSeconds()));
        return Optional.of(new CacheSlot(version.id(), variant, partition(caller, model), InputDigest.of(inputs, outputs, parameters),
                ttl));
    }

    /** The owner's calls share the model's partition (""); anyone else gets one of their own. */
    static String partition(Principal caller, Model model) {
        if (caller.owns(model.ownerId())) {
            return "";
        }
        return caller.anonymous() ? "ip:" + caller.ip() : "user:" + caller.userId();
    }

    @Override
    public CompletableFuture<Optional<Map<String, Output>>> find(CacheSlot slot) {
        String key = slot.key();
        Entry entry = local.getIfPresent(key);
        if (entry != null) {
            meters.cacheRequest("hit", "l1");
            return CompletableFuture.completedFuture(Optional.of(entry.outputs()));
        }
        if (shared.isEmpty()) {
            meters.cacheRequest("miss", "l1");
            return NONE;
        }
        return shared.get().get(key).thenApply(bytes -> {
            Optional<Map<String, Output>> found = bytes.flatMap(b -> decode(key, b));
            if (found.isPresent()) {
                local.put(key, new Entry(found.get(), slot.ttl().toNanos()));
                meters.cacheRequest("hit", "l2");
            } else {
                meters.cacheRequest("miss", "l2");
            }
            return found;
        });
    }

    @Override
    public Optional<Map<String, Output>> findLocal(CacheSlot slot) {
        Entry entry = local.getIfPresent(slot.key());
        if (entry == null) {
            return Optional.empty();
        }
        meters.cacheRequest("hit", "l1");
        return Optional.of(entry.outputs());
    }

    @Override
    public void store(CacheSlot slot, Map<String, Output> outputs) {
        Map<String, Output> compact = compact(outputs);
        String key = slot.key();
        local.put(key, new Entry(compact, slot.ttl().toNanos()));
        shared.ifPresent(s -> s.put(key, AnswerCodec.encode(compact), slot.ttl()));
    }

    @Override
    public void bypassed(CacheSlot slot) {
        meters.cacheRequest("bypass", deepest);
    }

    /** Answers held in L1 now (after pending evictions), for tests and gauges. */
    public long size() {
        local.cleanUp();
        return local.estimatedSize();
    }

    private static Optional<Map<String, Output>> decode(String key, byte[] bytes) {
        try {
            return Optional.of(AnswerCodec.decode(bytes));
        } catch (IllegalArgumentException e) {
            log.warn("ignoring the unreadable cached answer {}: {}", key, e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Copies tensors into buffers of their own: a runtime's output may be a slice of a whole
     * batch's buffer, which the cache must not keep alive for one row.
     */
    private static Map<String, Output> compact(Map<String, Output> outputs) {
        Map<String, Output> copy = new LinkedHashMap<>(outputs.size() * 2);
        for (Map.Entry<String, Output> e : outputs.entrySet()) {
            Output o = e.getValue();
            copy.put(e.getKey(), o instanceof Tensor t && t.datatype() != DataType.BYTES
                    ? Tensor.of(t.name(), t.datatype(), t.shape(), ByteBuffer.wrap(t.rawBytes())) : o);
        }
        return java.util.Collections.unmodifiableMap(copy);
    }

    @Override
    public void close() {
        shared.ifPresent(SharedCache::close);
    }
}
