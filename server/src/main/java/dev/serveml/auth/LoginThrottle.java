package dev.serveml.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;

import java.time.Duration;
import java.time.InstantSource;

/**
 * Slows down password guessing without handing strangers a way to lock an owner out. Failures
 * are counted within a window, and past a free allowance each further attempt must wait twice as
 * long as the last (1 s, 2 s, 4 s ... up to 5 minutes), on three counts:
 * <ul>
 *   <li>per address and account: {@link #FREE_FAILURES} free; a success from that address clears it;</li>
 *   <li>per address, over all accounts: {@link #FREE_FAILURES_PER_ADDRESS} free (an address may be
 *       shared, NAT or a proxy); a success does not clear it, or a guesser could reset it by signing
 *       in to an account of their own;</li>
 *   <li>per account, from every address: a backstop against guessing from many addresses. Past
 *       {@link #ACCOUNT_CEILING} failures it holds back only addresses that have themselves failed
 *       for this account in the window; an address that has not (the owner's, as a rule) is never
 *       held back by other addresses' failures.</li>
 * </ul>
 * So failures from one address never delay the right password from another. Thread-safe.
 */
final class LoginThrottle {
    static final int FREE_FAILURES = 5;
    /** An address may be shared (NAT, a proxy): it gets more room than one account. */
    static final int FREE_FAILURES_PER_ADDRESS = 20;
    /** Failures for one account from every address before the backstop applies. */
    static final int ACCOUNT_CEILING = 100;
    static final Duration WINDOW = Duration.ofMinutes(15);
    static final long MAX_DELAY_SECONDS = 300;

    /** Failures so far and when the next attempt is allowed (epoch millis). */
    private record Record(int failures, long allowedAtMillis) {
    }

    private final InstantSource clock;
    private final Cache<String, Record> records;

    LoginThrottle(InstantSource clock) {
        this.clock = clock;
        Ticker ticker = () -> clock.millis() * 1_000_000L;
        this.records = Caffeine.newBuilder().ticker(ticker).expireAfterWrite(WINDOW).maximumSize(100_000)
                .executor(Runnable::run).build();
    }

    /** Seconds to wait before the next attempt for this account from this address, 0 when allowed now. */
    long waitSeconds(String account, String ip) {
        long now = clock.millis();
        Record pair = records.getIfPresent(pairKey(account, ip));
        long until = Math.max(allowedAt(pair), allowedAt(records.getIfPresent(addressKey(ip))));
        Record everywhere = records.getIfPresent(accountKey(account));
        if (pair != null && everywhere != null && everywhere.failures() > ACCOUNT_CEILING) {
            until = Math.max(until, everywhere.allowedAtMillis());
        }
        return until <= now ? 0 : (until - now + 999) / 1000;
    }

    private static long allowedAt(Record r) {
        return r == null ? 0 : r.allowedAtMillis();
    }

    void failed(String account, String ip) {
        bump(pairKey(account, ip), FREE_FAILURES);
        bump(addressKey(ip), FREE_FAILURES_PER_ADDRESS);
        bump(accountKey(account), ACCOUNT_CEILING);
    }

    /** The right password from this address: its failures for this account are forgotten. */
    void succeeded(String account, String ip) {
        records.invalidate(pairKey(account, ip));
    }

    private void bump(String key, int free) {
        records.asMap().compute(key, (k, r) -> {
            int failures = r == null ? 1 : r.failures() + 1;
            long delay = failures <= free ? 0
                    : Math.min(MAX_DELAY_SECONDS, 1L << Math.min(20, failures - free - 1));
            return new Record(failures, clock.millis() + delay * 1000);
        });
    }

    // Usernames cannot hold a newline, so no account and address pair reads as another.
    private static String pairKey(String account, String ip) {
        return "p:" + ip + "\n" + account;
    }

    private static String addressKey(String ip) {
        return "ip:" + ip;
    }

    private static String accountKey(String account) {
        return "u:" + account;
    }
}
