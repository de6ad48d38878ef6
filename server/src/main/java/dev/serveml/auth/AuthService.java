package dev.serveml.auth;

import at.favre.lib.crypto.bcrypt.BCrypt;
import dev.serveml.audit.AuditLog;
import dev.serveml.config.AuthConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Semaphore;
import java.util.regex.Pattern;

/**
 * Accounts and credentials: registration, login with bcrypt and throttling, access tokens,
 * rotating refresh tokens (reuse of a spent one revokes its whole family), logout, and API keys
 * (never wider than the credential that creates them; revoking one revokes those made from it).
 * Blocking (bcrypt, database): call off the event loop. At most {@link AuthConfig#bcryptConcurrency()}
 * bcrypt computations run at once and twice as many wait; further callers get 503 at once, so a
 * flood of sign-ins holds only a few worker threads. Thread-safe.
 */
public final class AuthService {
    private static final Logger log = LoggerFactory.getLogger(AuthService.class);
    private static final Pattern USERNAME = Pattern.compile("[a-z0-9][a-z0-9._-]{2,63}");
    /** A key reads {@code sml_<prefix>_<secret>}: the prefix is stored in clear to find it, the whole key as a hash. */
    static final String KEY_MARK = "sml_";
    /** bcrypt reads at most this many bytes of a password; a longer one is refused, never cut short. */
    static final int MAX_PASSWORD_BYTES = 72;

    /** What a successful login or refresh returns. */
    public record Session(String accessToken, Duration accessTtl, String refreshToken, Duration refreshTtl, User user) {
    }

    /** A newly created key: the only time its secret is seen. */
    public record CreatedKey(ApiKey key, String secret) {
    }

    private final IdentityStore store;
    private final AuthConfig config;
    private final TokenCodec tokens;
    private final LoginThrottle throttle;
    private final InstantSource clock;
    private final AuditLog audit;
    private final Authenticator authenticator;
    // Compared against when the username does not exist, so a miss costs what a hit costs.
    private final String decoyHash;
    private final Semaphore bcryptRunning;
    private final Semaphore bcryptAdmitted;

    AuthService(IdentityStore store, AuthConfig config, TokenCodec tokens, InstantSource clock, AuditLog audit,
                Authenticator authenticator) {
        this.store = store;
        this.config = config;
        this.tokens = tokens;
        this.clock = clock;
        this.audit = audit;
        this.authenticator = authenticator;
        this.throttle = new LoginThrottle(clock);
        this.bcryptRunning = new Semaphore(config.bcryptConcurrency());
        this.bcryptAdmitted = new Semaphore(config.bcryptConcurrency() * 3);
        this.decoyHash = hash("decoy-password-" + UUID.randomUUID());
    }

    /** Creates the first admin on an empty database; prints a generated password once if none was configured. */
    void bootstrapAdmin() {
        if (store.countUsers() > 0) {
            return;
        }
        String password = config.adminPassword();
        boolean generated = password.isEmpty();
        if (generated) {
            password = Secrets.token(18);
        }
        try {
            store.createUser("admin", hash(password), Role.ADMIN);
        } catch (ProblemException e) {
            return; // another replica created it first
        }
        if (generated) {
            log.warn("created user 'admin' with the one-time password: {}  (it is not stored anywhere; set "
                    + "SERVEML_ADMIN_PASSWORD to choose it)", password);
        } else {
            log.info("created user 'admin' with the password from SERVEML_ADMIN_PASSWORD");
        }
    }

    public User register(String username, String password, String ip) {
        if (!config.registrationOpen()) {
            throw new ProblemException(ProblemType.REGISTRATION_CLOSED, "this server does not allow registration; "
                    + "ask an administrator for an account");
        }
        String name = username == null ? "" : username.trim().toLowerCase(java.util.Locale.ROOT);
        // Every invalid field at once, so a form can mark them all in one round.
        List<ProblemException.FieldError> errors = new java.util.ArrayList<>();
        if (!USERNAME.matcher(name).matches()) {
            errors.add(new ProblemException.FieldError("/username", (username == null ? "a username is required; " : "")
                    + "usernames are 3-64 characters: lower-case letters, digits, '.', '_' and '-'"));
        }
        passwordProblem(password).ifPresent(m -> errors.add(new ProblemException.FieldError("/password", m)));
        if (!errors.isEmpty()) {
            // A bad username makes the request invalid; a weak password alone has its own code.
            throw new ProblemException(errors.get(0).pointer().equals("/username") ? ProblemType.INVALID_REQUEST
                    : ProblemType.WEAK_PASSWORD, errors.stream().map(ProblemException.FieldError::message)
                    .collect(java.util.stream.Collectors.joining("; ")), errors);
        }
        String hash = bcrypt(() -> hash(password));
        User user = store.createUser(name, hash, Role.USER);
        audit.record(user.id(), user.username(), ip, "user.registered", "user:" + user.username(), true, Map.of());
        return user;
    }

    private Optional<String> passwordProblem(String password) {
        if (password == null || password.length() < config.minPasswordLength()) {
            return Optional.of((password == null ? "a password is required; " : "") + "passwords need at least "
                    + config.minPasswordLength() + " characters");
        }
        if (password.getBytes(StandardCharsets.UTF_8).length > MAX_PASSWORD_BYTES) {
            return Optional.of("passwords may be at most " + MAX_PASSWORD_BYTES + " bytes in UTF-8 (bcrypt reads no more)");
        }
        return Optional.empty();
    }

    public Session login(String username, String password, String ip) {
        String name = username == null ? "" : username.trim().toLowerCase(java.util.Locale.ROOT);
        // A name no account can have shares one throttle record, so junk names cannot fill its memory.
        boolean possible = USERNAME.matcher(name).matches();
        String account = possible ? name : "";
        String audited = possible ? name : "(not a username)";
        long wait = throttle.waitSeconds(account, ip);
        if (wait > 0) {
            audit.record(0, audited, ip, "auth.login", "user:" + audited, false, Map.of("reason", "throttled"));
            throw new ProblemException(ProblemType.LOGIN_THROTTLED, "too many failed logins from this address "
                    + "(for this account, or for any); wait " + wait + " s").retryAfter(wait);
        }
        Optional<User> user = possible ? store.findUser(name).filter(u -> !u.deleted()) : Optional.empty();
        // No stored password is longer than bcrypt reads (registration refuses them), so a longer one
        // is simply wrong; the decoy is still checked so the answer takes as long as any other.
        String given = password == null ? "" : password;
        boolean fits = given.getBytes(StandardCharsets.UTF_8).length <= MAX_PASSWORD_BYTES;
        String stored = user.filter(u -> fits).map(User::passwordHash).orElse(decoyHash);
        boolean verified = bcrypt(() -> BCrypt.verifyer().verify((fits ? given : "").toCharArray(), stored).verified);
        boolean ok = verified && fits && user.isPresent();
        if (!ok) {
            throttle.failed(account, ip);
            audit.record(user.map(User::id).orElse(0L), audited, ip, "auth.login", "user:" + audited, false, Map.of());
            throw new ProblemException(ProblemType.INVALID_CREDENTIALS, "the username or password is wrong");
        }
        throttle.succeeded(account, ip);
        audit.record(user.get().id(), name, ip, "auth.login", "user:" + name, true, Map.of());
        return newSession(user.get(), UUID.randomUUID());
    }

    public Session refresh(String refreshToken, String ip) {
        RefreshToken stored = findRefresh(refreshToken);
        if (stored.revokedAt() != null) {
            throw invalidRefresh("this refresh token was revoked; sign in again");
        }
        if (clock.instant().isAfter(stored.expiresAt())) {
            throw invalidRefresh("this refresh token expired; sign in again");
        }
        if (!store.markRefreshTokenUsed(stored.id())) {
            // A spent token came back: someone else may hold the newer one. End the whole family.
            store.revokeFamily(stored.family());
            String name = username(stored.userId());
            audit.record(stored.userId(), name, ip, "auth.refresh_reuse", "user:" + name,
                    false, Map.of("family", stored.family().toString()));
            throw invalidRefresh("this refresh token was already used; every session from this sign-in is now "
                    + "revoked, sign in again");
        }
        User user = store.findUser(stored.userId()).filter(u -> !u.deleted())
                .orElseThrow(() -> invalidRefresh("the account no longer exists"));
        return newSession(user, stored.family());
    }

    public void logout(String refreshToken, String ip) {
        RefreshToken stored = findRefresh(refreshToken);
        store.revokeFamily(stored.family());
        String name = username(stored.userId());
        audit.record(stored.userId(), name, ip, "auth.logout", "user:" + name, true, Map.of());
    }

    /** The audit log names people as everywhere else: by username (the id only if the account is gone). */
    private String username(long userId) {
        return store.findUser(userId).map(User::username).orElse("user #" + userId);
    }

    private RefreshToken findRefresh(String refreshToken) {
        if (refreshToken == null || refreshToken.isBlank()) {
            throw invalidRefresh("send {\"refresh_token\": \"...\"}");
        }
        return store.findRefreshToken(Secrets.sha256(refreshToken))
                .orElseThrow(() -> invalidRefresh("this refresh token is not known"));
    }

    private Session newSession(User user, UUID family) {
        String refresh = Secrets.token(32);
        store.insertRefreshToken(user.id(), family, Secrets.sha256(refresh), clock.instant().plus(config.refreshTokenTtl()));
        return new Session(tokens.issue(user), tokens.ttl(), refresh, config.refreshTokenTtl(), user);
    }

    private static ProblemException invalidRefresh(String detail) {
        return new ProblemException(ProblemType.INVALID_REFRESH_TOKEN, detail);
    }

    public Optional<User> findUser(long id) {
        return store.findUser(id);
    }

    /** Every account (admins only: the route says so). */
    public List<User> listUsers() {
        return store.listUsers();
    }

    /** Deletes an account: its tokens and keys stop working at once. Admins cannot delete themselves. */
    public void deleteUser(Principal admin, long id) {
        if (id == admin.userId()) {
            throw new ProblemException(ProblemType.INVALID_REQUEST, "you cannot delete your own account");
        }
        String name = username(id);
        if (!store.deleteUser(id)) {
            throw new ProblemException(ProblemType.ROUTE_NOT_FOUND, "there is no user with id " + id);
        }
        authenticator.forgetUser(id);
        audit.record(admin.userId(), admin.username(), admin.ip(), "user.deleted", "user:" + name, true, Map.of());
    }

    /**
     * Creates a key for the caller, never wider than the caller's credential (see {@link KeyCeiling}):
     * a key created with a key records it as its parent.
     */
    public CreatedKey createKey(Principal caller, KeyRequest wanted) {
        String name = wanted.name();
        if (name == null || name.isBlank() || name.length() > 100) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/name", "give the key a name of 1-100 characters");
        }
        if (wanted.scopes().isEmpty()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/scopes", "give the key at least one scope: "
                    + List.of(Scope.values()).stream().map(Scope::value).toList());
        }
        if (wanted.expiresAt() != null && !wanted.expiresAt().isAfter(clock.instant())) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/expires_at", "the expiry must be in the future");
        }
        Optional<ApiKey> parent = Optional.empty();
        if (caller.apiKeyId() > 0) {
            parent = Optional.of(store.findApiKey(caller.apiKeyId()).filter(k -> k.usableAt(clock.instant()))
                    .orElseThrow(() -> new ProblemException(ProblemType.INVALID_API_KEY, "the API key used was "
                            + "revoked or expired")));
        }
        KeyRequest granted = KeyCeiling.of(caller, parent, config.rateLimitPerMinute()).grant(wanted);
        String prefix = Secrets.readable(10);
        String secret = KEY_MARK + prefix + "_" + Secrets.token(24);
        ApiKey key = store.insertApiKey(new NewApiKey(caller.userId(), parent.map(ApiKey::id).orElse(null),
                name.trim(), prefix, Secrets.sha256(secret), granted.scopes(), granted.rateLimitPerMinute(),
                granted.dailyQuota(), granted.expiresAt(), granted.tokensPerMinute(), granted.tokensPerDay()));
        Map<String, Object> detail = new java.util.LinkedHashMap<>();
        detail.put("name", key.name());
        detail.put("scopes", granted.scopes().stream().map(Scope::value).sorted().toList());
        parent.ifPresent(p -> detail.put("parent", "api_key:" + p.prefix()));
        audit.record(caller.userId(), caller.username(), caller.ip(), "api_key.created", "api_key:" + prefix, true,
                detail);
        return new CreatedKey(key, secret);
    }

    /**
     * The caller's keys: all of them for a signed-in session; for an API key, only itself and the
     * keys made from it (transitively), so a leaked key can neither see nor revoke its siblings
     * or the keys it came from.
     */
    public List<ApiKey> listKeys(Principal caller) {
        List<ApiKey> all = store.listApiKeys(caller.userId());
        if (caller.apiKeyId() == 0) {
            return all;
        }
        java.util.Set<Long> lineage = lineage(all, caller.apiKeyId());
        return all.stream().filter(k -> lineage.contains(k.id())).toList();
    }

    /** {@code root} and every key created from it, through any number of steps. */
    static java.util.Set<Long> lineage(List<ApiKey> keys, long root) {
        java.util.Set<Long> ids = new java.util.HashSet<>(List.of(root));
        boolean grew = true;
        while (grew) {
            grew = false;
            for (ApiKey k : keys) {
                if (k.parentId() != null && ids.contains(k.parentId()) && ids.add(k.id())) {
                    grew = true;
                }
            }
        }
        return ids;
    }

    /**
     * Revokes a key and every key created from it (transitively); they stop working here at once.
     * An API key may revoke only itself and what it created (see {@link #listKeys}).
     */
    public ApiKey revokeKey(Principal caller, long keyId) {
        if (caller.apiKeyId() != 0 && !lineage(store.listApiKeys(caller.userId()), caller.apiKeyId()).contains(keyId)) {
            throw new ProblemException(ProblemType.ROUTE_NOT_FOUND, "you have no API key with id " + keyId
                    + " that this key created");
        }
        List<ApiKey> revoked = store.revokeApiKey(caller.userId(), keyId);
        if (revoked.isEmpty()) {
            throw new ProblemException(ProblemType.ROUTE_NOT_FOUND, "you have no API key with id " + keyId);
        }
        revoked.forEach(k -> authenticator.forgetKey(k.prefix()));
        ApiKey key = revoked.get(0);
        audit.record(caller.userId(), caller.username(), caller.ip(), "api_key.revoked", "api_key:" + key.prefix(), true,
                Map.of("name", key.name(), "with", revoked.subList(1, revoked.size()).stream()
                        .map(k -> "api_key:" + k.prefix()).toList()));
        return key;
    }

    /**
     * Runs one bcrypt computation within the bound: waits for a turn when few are queued, refuses
     * with 503 when the queue is full.
     */
    private <T> T bcrypt(java.util.function.Supplier<T> work) {
        if (!bcryptAdmitted.tryAcquire()) {
            throw new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "too many sign-ins are being checked right "
                    + "now; retry in a moment").retryAfter(1);
        }
        try {
            bcryptRunning.acquire();
            try {
                return work.get();
            } finally {
                bcryptRunning.release();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "the server is stopping").retryAfter(1);
        } finally {
            bcryptAdmitted.release();
        }
    }

    private String hash(String password) {
        return BCrypt.withDefaults().hashToString(config.bcryptCost(), password.toCharArray());
    }
}
