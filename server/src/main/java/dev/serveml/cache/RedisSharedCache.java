package dev.serveml.cache;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Answers in Redis ({@code SET key value PX ttl}, {@code GET key}) over one Lettuce connection.
 * When Redis fails or is slow the cache runs on its first tier alone for a few seconds, says so
 * once in the log, then tries Redis again.
 */
public final class RedisSharedCache implements SharedCache {
    private static final Logger log = LoggerFactory.getLogger(RedisSharedCache.class);
    private static final Duration RETRY = Duration.ofSeconds(5);
    /** A remote lookup slower than running a small model is not worth waiting for. */
    private static final Duration TIMEOUT = Duration.ofMillis(100);

    private final RedisClient client;
    private final StatefulRedisConnection<String, byte[]> connection;
    private final InstantSource clock;
    private final AtomicLong downUntil = new AtomicLong();
    private final AtomicReference<String> lastError = new AtomicReference<>();

    public RedisSharedCache(String url, InstantSource clock) {
        this.clock = clock;
        RedisURI uri = RedisURI.create(url);
        uri.setTimeout(Duration.ofMillis(500));
        this.client = RedisClient.create(uri);
        client.setOptions(ClientOptions.builder()
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS).build());
        this.connection = client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
        log.info("cached answers are shared through Redis at {}:{}", uri.getHost(), uri.getPort());
    }

    @Override
    public CompletableFuture<Optional<byte[]>> get(String key) {
        if (clock.millis() < downUntil.get()) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        try {
            return connection.async().get(key).toCompletableFuture()
                    .orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .handle((value, error) -> {
                        if (error != null) {
                            failed(error);
                            return Optional.empty();
                        }
                        recovered();
                        return Optional.ofNullable(value);
                    });
        } catch (RuntimeException e) {
            failed(e);
            return CompletableFuture.completedFuture(Optional.empty());
        }
    }

    @Override
    public void put(String key, byte[] value, Duration ttl) {
        if (clock.millis() < downUntil.get()) {
            return;
        }
        try {
            connection.async().set(key, value, SetArgs.Builder.px(Math.max(1, ttl.toMillis())))
                    .whenComplete((ok, error) -> {
                        if (error != null) {
                            failed(error);
                        }
                    });
        } catch (RuntimeException e) {
            failed(e);
        }
    }

    private void failed(Throwable e) {
        downUntil.set(clock.millis() + RETRY.toMillis());
        String why = e.getCause() != null ? e.getCause().toString() : e.toString();
        if (lastError.getAndSet(why) == null) {
            log.warn("Redis is unreachable ({}); cached answers are kept in this process only until it is back", why);
        }
    }

    private void recovered() {
        if (lastError.get() != null && lastError.getAndSet(null) != null) {
            log.info("Redis is reachable again: cached answers are shared again");
        }
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
