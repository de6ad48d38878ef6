package dev.serveml.ratelimit;

import dev.serveml.e2e.RedisServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.InstantSource;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The rate-limiter contract on a real redis-server, and what only Redis does: share buckets between replicas. */
class RedisRateLimiterIT implements RateLimiterContract {
    @TempDir
    static Path dir;
    static RedisServer redis;
    static RedisRateLimiter limiter;

    @BeforeAll
    static void startRedis() throws Exception {
        redis = RedisServer.start(dir);
        limiter = new RedisRateLimiter(redis.url(), InstantSource.system());
    }

    @AfterAll
    static void stopRedis() {
        if (limiter != null) {
            limiter.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @Override
    public RateLimiter limiter() {
        return limiter;
    }

    @Test
    void twoReplicasOnOneRedisDrawFromOneBucketAndNeitherAnswersWithoutAskingIt() throws Exception {
        try (RedisRateLimiter other = new RedisRateLimiter(redis.url(), InstantSource.system())) {
            Limit limit = Limit.perMinute(2);
            assertThat(limiter.consume("replicas", limit).get(5, TimeUnit.SECONDS).allowed()).isTrue();
            assertThat(other.consume("replicas", limit).get(5, TimeUnit.SECONDS).allowed()).isTrue();
            assertThat(limiter.consume("replicas", limit).get(5, TimeUnit.SECONDS).allowed()).isFalse();
            assertThat(other.consumeNow("replicas", limit)).as("a remote bucket has no answer at once").isNull();
            assertThat(other.status()).isEqualTo("redis");
        }
    }
}
