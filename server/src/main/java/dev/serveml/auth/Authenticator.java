package dev.serveml.auth;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.InstantSource;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Turns a request's credentials into a {@link Principal} without blocking its caller: JWTs are
 * checked in memory; API keys and users are read through short-lived caches whose misses load on
 * the given executor. A revoked key is dropped from the cache at once (this process; other
 * replicas within the cache's lifetime, 30 seconds by default).
 *
 * <p>When the database cannot be reached, a credential verified before the outage stays trusted
 * for a bounded grace past that lifetime (as long as the key or token itself is valid), so loaded
 * models keep answering their callers; it is checked again in the background, at most one check
 * per credential at a time, and becomes fresh as soon as the database answers. Revocations this
 * server made still apply at once. Thread-safe.
 */
public final class Authenticator {
    private static final Logger log = LoggerFactory.getLogger(Authenticator.class);

    private final TokenCodec tokens;
    private final InstantSource clock;
    private final boolean enabled;
    private final long ttlMillis;
    private final long graceMillis;
    private final Set<String> refreshing = ConcurrentHashMap.newKeySet();
    private final AsyncLoadingCache<String, Optional<KnownKey>> keys;
    private final AsyncLoadingCache<Long, Optional<User>> users;
    /** Credentials already checked, so the hot path skips hashing, parsing and lookups. */
    private final Cache<String, Verified> verified;

    /**
     * A checked credential: until when the credential itself is valid, when it was last checked
     * against the database (epoch millis), and whether the last check found the database unreachable.
     */
    private record Verified(Principal principal, long validUntil, long checkedAt, boolean degraded) {
        Verified(Principal principal, long validUntil, long checkedAt) {
            this(principal, validUntil, checkedAt, false);
        }
    }

    /** A stored key with the limits of the keys it was created from. */
    private record KnownKey(ApiKey key, List<Allowance> inherited) {
    }

    /**
     * @param ttl   how long a check is trusted ({@code SERVEML_AUTH_CACHE_TTL})
     * @param grace how much longer it is trusted while the database cannot be reached
     */
    Authenticator(IdentityStore store, TokenCodec tokens, InstantSource clock, Executor blocking, boolean enabled,
                  Duration ttl, Duration grace) {
        this.tokens = tokens;
        this.clock = clock;
        this.enabled = enabled;
        this.ttlMillis = ttl.toMillis();
        this.graceMillis = grace.toMillis();
        // Maintenance delayed a little so that the drains asked for by hot reads coalesce (see LocalRateLimiter).
        this.verified = Caffeine.newBuilder().expireAfterWrite(ttl.plus(grace)).maximumSize(100_000)
                .executor(CompletableFuture.delayedExecutor(5, TimeUnit.MILLISECONDS)).build();
        this.keys = Caffeine.newBuilder().executor(blocking).expireAfterWrite(ttl).maximumSize(100_000)
                .buildAsync(prefix -> store.findApiKeyByPrefix(prefix).map(k -> new KnownKey(k,
                        k.parentId() == null ? List.of() : store.findInheritedAllowances(k.id()))));
        this.users = Caffeine.newBuilder().executor(blocking).expireAfterWrite(ttl).maximumSize(100_000)
                .buildAsync(store::findUser);
    }

    /** The one principal of a server running with SERVEML_AUTH=off. */
    static Principal localAdmin(String ip) {
        return new Principal(1, "admin", Role.ADMIN, EnumSet.allOf(Scope.class), 0, ip, 0, 0);
    }

    public boolean enabled() {
        return enabled;
    }

    /**
     * Who is calling.
     *
     * @param authorization the Authorization header, or null
     * @param apiKey        the X-API-Key header, or null
     * @return completes with the principal (anonymous without credentials), or exceptionally with
     *         a 401 {@link ProblemException} saying what is wrong with the credential
     */
    public CompletableFuture<Principal> authenticate(String authorization, String apiKey, String ip) {
        if (!enabled) {
            return CompletableFuture.completedFuture(localAdmin(ip));
        }
        try {
            String credential = credential(authorization, apiKey);
            if (credential == null) {
                return CompletableFuture.completedFuture(Principal.anonymous(ip));
            }
            Verified known = verified.getIfPresent(credential);
            long now = clock.millis();
            Principal usable = usable(credential, known, now);
            if (usable != null) {
                return CompletableFuture.completedFuture(usable.withIp(ip));
            }
            return verify(credential, ip).handle((v, failure) -> {
                if (failure == null) {
                    verified.put(credential, v);
                    return v.principal();
                }
                if (known != null && now < known.validUntil() && now - known.checkedAt() < ttlMillis + graceMillis
                        && databaseUnavailable(failure)) {
                    log.warn("the database cannot be reached: trusting a credential of {} checked {} s ago (grace {} s)",
                            known.principal().username(), (now - known.checkedAt()) / 1000, graceMillis / 1000);
                    verified.put(credential, new Verified(known.principal(), known.validUntil(), known.checkedAt(),
                            true));
                    return known.principal().withIp(ip);
                }
                throw failure instanceof CompletionException c ? c : new CompletionException(failure);
            });
        } catch (ProblemException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * The cached principal when it may be used now: checked within the lifetime, or checked
     * within the grace while the database was last found unreachable (then a background check is
     * started). Null when the credential must be verified first.
     */
    private Principal usable(String credential, Verified v, long now) {
        if (v == null || now >= v.validUntil()) {
            return null;
        }
        long age = now - v.checkedAt();
        if (age < ttlMillis) {
            return v.principal();
        }
        if (v.degraded() && age < ttlMillis + graceMillis) {
            refreshInBackground(credential, v);
            return v.principal();
        }
        return null;
    }

    private void refreshInBackground(String credential, Verified stale) {
        if (!refreshing.add(credential)) {
            return;
        }
        CompletableFuture<Verified> check;
        try {
            check = verify(credential, stale.principal().ip());
        } catch (ProblemException e) {
            refreshing.remove(credential);
            verified.invalidate(credential);
            return;
        }
        check.whenComplete((fresh, failure) -> {
            refreshing.remove(credential);
            if (failure == null) {
                verified.put(credential, fresh);
            } else if (!databaseUnavailable(failure)) {
                verified.invalidate(credential); // revoked, expired or deleted meanwhile: the next call hears why
            }
        });
    }

    private CompletableFuture<Verified> verify(String credential, String ip) {
        return credential.startsWith(AuthService.KEY_MARK) ? byKey(credential, ip) : byToken(credential, ip);
    }

    private static boolean databaseUnavailable(Throwable failure) {
        Throwable t = failure;
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t instanceof ProblemException p && p.type() == ProblemType.DATABASE_UNAVAILABLE;
    }

    /**
     * The caller when it can be told without waiting (authentication off, no credential, or one
     * already verified and not expired); null when {@link #authenticate} must do the work.
     */
    public Principal known(String authorization, String apiKey, String ip) {
        if (!enabled) {
            return localAdmin(ip);
        }
        String credential;
        try {
            credential = credential(authorization, apiKey);
        } catch (ProblemException e) {
            return null;
        }
        if (credential == null) {
            return Principal.anonymous(ip);
        }
        Principal usable = usable(credential, verified.getIfPresent(credential), clock.millis());
        return usable == null ? null : usable.withIp(ip);
    }

    private static String credential(String authorization, String apiKey) {
        if (apiKey != null && !apiKey.isBlank()) {
            return apiKey.trim();
        }
        if (authorization == null || authorization.isBlank()) {
            return null;
        }
        // Parsed by hand, not with a regex split: this runs on every authenticated request.
        String value = authorization.strip();
        int space = 0;
        while (space < value.length() && !Character.isWhitespace(value.charAt(space))) {
            space++;
        }
        String credential = value.substring(space).strip();
        if (space != 6 || !value.regionMatches(true, 0, "Bearer", 0, 6) || credential.isEmpty()) {
            throw new ProblemException(ProblemType.INVALID_TOKEN, "send credentials as 'Authorization: Bearer <token "
                    + "or API key>' or 'X-API-Key: <key>'");
        }
        return credential;
    }

    private CompletableFuture<Verified> byToken(String token, String ip) {
        TokenCodec.Claims claims = tokens.verify(token);
        return users.get(claims.userId()).thenApply(user -> {
            User u = user.filter(x -> !x.deleted()).orElseThrow(() -> new ProblemException(ProblemType.INVALID_TOKEN,
                    "the access token's account no longer exists"));
            Set<Scope> scopes = u.role() == Role.ADMIN ? EnumSet.allOf(Scope.class) : Scope.userScopes();
            return new Verified(new Principal(u.id(), u.username(), u.role(), scopes, 0, ip, 0, 0),
                    claims.expiresAt().toEpochMilli(), clock.millis());
        });
    }

    private CompletableFuture<Verified> byKey(String secret, String ip) {
        String rest = secret.substring(AuthService.KEY_MARK.length());
        int split = rest.indexOf('_');
        if (split <= 0) {
            return CompletableFuture.failedFuture(invalidKey("the API key is malformed"));
        }
        String prefix = rest.substring(0, split);
        return keys.get(prefix).thenCompose(found -> {
            KnownKey known = found.filter(k -> Secrets.sameHash(k.key().keyHash(), Secrets.sha256(secret)))
                    .orElseThrow(() -> invalidKey("the API key is not known"));
            ApiKey key = known.key();
            if (key.revokedAt() != null) {
                throw invalidKey("the API key was revoked at " + key.revokedAt());
            }
            if (!key.usableAt(clock.instant())) {
                throw invalidKey("the API key expired at " + key.expiresAt());
            }
            return users.get(key.userId()).thenApply(user -> {
                User u = user.filter(x -> !x.deleted()).orElseThrow(() -> invalidKey("the API key's account no longer exists"));
                Set<Scope> scopes = EnumSet.noneOf(Scope.class);
                scopes.addAll(key.scopes());
                if (u.role() != Role.ADMIN) {
                    scopes.remove(Scope.ADMIN);
                }
                return new Verified(new Principal(u.id(), u.username(), u.role(), scopes, key.id(), ip,
                        key.rateLimitPerMinute() == null ? 0 : key.rateLimitPerMinute(),
                        key.dailyQuota() == null ? 0 : key.dailyQuota(), known.inherited(),
                        key.tokensPerMinute() == null ? 0 : key.tokensPerMinute(),
                        key.tokensPerDay() == null ? 0 : key.tokensPerDay()),
                        key.expiresAt() == null ? Long.MAX_VALUE : key.expiresAt().toEpochMilli(), clock.millis());
            });
        });
    }

    /** Drops everything cached about a user (deleted: their tokens and keys stop working now). */
    void forgetUser(long userId) {
        users.synchronous().invalidate(userId);
        verified.asMap().values().removeIf(v -> v.principal().userId() == userId);
    }

    void forgetKey(String prefix) {
        keys.synchronous().invalidate(prefix);
        String start = AuthService.KEY_MARK + prefix + "_";
        verified.asMap().keySet().removeIf(k -> k.startsWith(start));
    }

    private static ProblemException invalidKey(String detail) {
        return new ProblemException(ProblemType.INVALID_API_KEY, detail);
    }
}
