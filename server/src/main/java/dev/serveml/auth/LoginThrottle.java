package dev.serveml.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;

import java.time.Duration;
import java.time.InstantSource;

/**
 * Slows down password guessing: after {@link #FREE_FAILURES} failed logins for an account or from
 * an address within a window, each further attempt must wait twice as long as the last
 * (1 s, 2 s, 4 s ... up to 5 minutes). A success clears the account's count. Thread-safe.
 */
final class LoginThrottle {
    static final int FREE_FAILURES = 5;
    /** An address may be shared (NAT, a proxy): it gets more room than one account. */
    static final int FREE_FAILURES_PER_ADDRESS = 20;
    private static final Duration WINDOW = Duration.ofMinutes(15);
    private static final long MAX_DELAY_SECONDS = 300;

    /** Failures so far and when the next attempt is allowed (epoch millis). */
    private record Record(int failures, long allowedAtMillis) {
    }

    private final InstantSource clock;
    private final Cache<String, Record> records;

    LoginThrottle(InstantSource clock) {
        this.clock = clock;
        Ticker ticker = () -> clock.millis() * 1_000_000L;
        this.records = Caffeine.newBuilder().ticker(ticker).expireAfterWrite(WINDOW).maximumSize(100_000).build();
    }

    /** Seconds to wait before the next attempt for this account or address, 0 when allowed now. */
    long waitSeconds(String account, String ip) {
        long now = clock.millis();
        long until = Math.max(allowedAt("u:" + account), allowedAt("ip:" + ip));
        return until <= now ? 0 : (until - now + 999) / 1000;
    }

    private long allowedAt(String key) {
        Record r = records.getIfPresent(key);
        return r == null ? 0 : r.allowedAtMillis();
    }

    void failed(String account, String ip) {
        bump("u:" + account, FREE_FAILURES);
        bump("ip:" + ip, FREE_FAILURES_PER_ADDRESS);
    }

    void succeeded(String account) {
        records.invalidate("u:" + account);
    }

    private void bump(String key, int free) {
        records.asMap().compute(key, (k, r) -> {
            int failures = r == null ? 1 : r.failures() + 1;
            long delay = failures <= free ? 0
                    : Math.min(MAX_DELAY_SECONDS, 1L << Math.min(20, failures - free - 1));
            return new Record(failures, clock.millis() + delay * 1000);
        });
    }
}
