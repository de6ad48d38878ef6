package dev.serveml.auth;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.time.Duration;
import java.time.InstantSource;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Turns a request's credentials into a {@link Principal} without blocking its caller: JWTs are
 * checked in memory; API keys and users are read through short-lived caches whose misses load on
 * the given executor. A revoked key is dropped from the cache at once (this process; other
 * replicas within the cache's 30 seconds). Thread-safe.
 */
public final class Authenticator {
    private static final Duration CACHE_TTL = Duration.ofSeconds(30);

    private final TokenCodec tokens;
    private final InstantSource clock;
    private final boolean enabled;
    private final AsyncLoadingCache<String, Optional<KnownKey>> keys;
    private final AsyncLoadingCache<Long, Optional<User>> users;
    /** Credentials already checked, so the hot path skips hashing, parsing and lookups. */
    private final Cache<String, Verified> verified = Caffeine.newBuilder().expireAfterWrite(CACHE_TTL)
            .maximumSize(100_000).build();

    /** A checked credential and until when it may be trusted without checking again (epoch millis). */
    private record Verified(Principal principal, long validUntil) {
    }

    /** A stored key with the limits of the keys it was created from. */
    private record KnownKey(ApiKey key, List<Allowance> inherited) {
    }

    Authenticator(IdentityStore store, TokenCodec tokens, InstantSource clock, Executor blocking, boolean enabled) {
        this.tokens = tokens;
        this.clock = clock;
        this.enabled = enabled;
        this.keys = Caffeine.newBuilder().executor(blocking).expireAfterWrite(CACHE_TTL).maximumSize(100_000)
                .buildAsync(prefix -> store.findApiKeyByPrefix(prefix).map(k -> new KnownKey(k,
                        k.parentId() == null ? List.of() : store.findInheritedAllowances(k.id()))));
        this.users = Caffeine.newBuilder().executor(blocking).expireAfterWrite(CACHE_TTL).maximumSize(100_000)
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
            if (known != null && clock.millis() < known.validUntil()) {
                return CompletableFuture.completedFuture(known.principal().withIp(ip));
            }
            return (credential.startsWith(AuthService.KEY_MARK) ? byKey(credential, ip) : byToken(credential, ip))
                    .thenApply(v -> {
                        verified.put(credential, v);
                        return v.principal();
                    });
        } catch (ProblemException e) {
            return CompletableFuture.failedFuture(e);
        }
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
        Verified v = verified.getIfPresent(credential);
        return v != null && clock.millis() < v.validUntil() ? v.principal().withIp(ip) : null;
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
                    claims.expiresAt().toEpochMilli());
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
                        key.dailyQuota() == null ? 0 : key.dailyQuota(), known.inherited()),
                        key.expiresAt() == null ? Long.MAX_VALUE : key.expiresAt().toEpochMilli());
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
