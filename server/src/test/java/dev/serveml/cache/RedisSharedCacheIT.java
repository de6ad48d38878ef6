package dev.serveml.cache;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.serveml.config.CacheConfig;
import dev.serveml.e2e.Poll;
import dev.serveml.e2e.RedisServer;
import dev.serveml.inference.CacheRule;
import dev.serveml.inference.CacheSlot;
import dev.serveml.metrics.Meters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.serveml.cache.ResponseCacheContract.answer;
import static dev.serveml.cache.ResponseCacheContract.model;
import static dev.serveml.cache.ResponseCacheContract.row;
import static dev.serveml.cache.ResponseCacheContract.version;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The response-cache contract with a real redis-server as its second tier, and what only the
 * shared tier does: replicas read each other's answers, Redis forgets them after their time to
 * live, and a Redis that went away reads as a miss.
 */
class RedisSharedCacheIT implements ResponseCacheContract {
    private static final CacheConfig ON = new CacheConfig(true, Duration.ofMinutes(5), 100);

    @TempDir
    static Path dir;
    static RedisServer redis;

    @BeforeAll
    static void startRedis() throws Exception {
        redis = RedisServer.start(dir.resolve("shared"));
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) {
            redis.close();
        }
    }

    @Override
    public ResponseCache cache() {
        return new ResponseCache(ON, Optional.of(new RedisSharedCache(redis.url(), InstantSource.system())), new Meters(),
                Ticker.systemTicker(), Runnable::run);
    }

    @Test
    void aSecondReplicaFindsTheFirstOnesAnswerInRedis() throws Exception {
        try (ResponseCache first = cache(); ResponseCache second = cache()) {
            CacheSlot slot = first.slot(OWNER, model(null, null), version(UUID.randomUUID().getMostSignificantBits() >>> 2),
                    "", row(3f), Set.of(), CacheRule.MODEL).orElseThrow();
            assertThat(second.findLocal(slot)).isEmpty();
            first.store(slot, answer());

            // The write is not acknowledged before store returns: poll for it.
            assertThat(Poll.until(() -> second.find(slot).join().orElse(null), a -> true, Duration.ofSeconds(10),
                    "the answer to reach Redis")).isEqualTo(answer());
            assertThat(second.findLocal(slot)).as("the hit filled the second replica's L1").contains(answer());
        }
    }

    @Test
    void redisForgetsAnAnswerOnceItsTimeToLivePasses() throws Exception {
        try (RedisSharedCache shared = new RedisSharedCache(redis.url(), InstantSource.system())) {
            String key = "ttl:" + UUID.randomUUID();
            shared.put(key, new byte[]{1, 2, 3}, Duration.ofMillis(300));
            Poll.until(() -> shared.get(key).join().isEmpty(), Duration.ofSeconds(10), "Redis to expire " + key);
            assertThat(shared.get("never-stored:" + UUID.randomUUID()).get(5, TimeUnit.SECONDS)).isEmpty();
        }
    }

    @Test
    void aRedisThatWentAwayReadsAsAMissAndDropsWritesWithoutFailing() throws Exception {
        RedisServer doomed = RedisServer.start(dir.resolve("doomed"));
        try (RedisSharedCache shared = new RedisSharedCache(doomed.url(), InstantSource.system())) {
            shared.put("k", new byte[]{1}, Duration.ofMinutes(1));
            Poll.until(() -> shared.get("k").join().isPresent(), Duration.ofSeconds(10), "the write to land");

            doomed.kill();
            assertThat(shared.get("k").get(5, TimeUnit.SECONDS)).isEmpty();
            shared.put("k2", new byte[]{2}, Duration.ofMinutes(1));
            assertThat(shared.get("k2").get(5, TimeUnit.SECONDS)).isEmpty();
        } finally {
            doomed.close();
        }
    }
}
