package dev.serveml.auth;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/** Durable users, refresh tokens and API keys. Blocking; thread-safe. */
public interface IdentityStore {

    /** @throws dev.serveml.problem.ProblemException {@code name-taken} if the username exists */
    User createUser(String username, String passwordHash, Role role);

    Optional<User> findUser(String username);

    Optional<User> findUser(long id);

    long countUsers();

    List<User> listUsers();

    /** Marks a user deleted and revokes their refresh tokens and API keys; false if there is no such user. */
    boolean deleteUser(long id);

    void insertRefreshToken(long userId, UUID family, String tokenHash, Instant expiresAt);

    Optional<RefreshToken> findRefreshToken(String tokenHash);

    /** Marks a token used if it was not; false when it already was (reuse). */
    boolean markRefreshTokenUsed(long id);

    void revokeFamily(UUID family);

    ApiKey insertApiKey(long userId, String name, String prefix, String keyHash, Set<Scope> scopes,
                        Integer rateLimitPerMinute, Integer dailyQuota, Instant expiresAt);

    Optional<ApiKey> findApiKeyByPrefix(String prefix);

    List<ApiKey> listApiKeys(long userId);

    /** @return the revoked key, empty if it does not exist or is not this user's */
    Optional<ApiKey> revokeApiKey(long userId, long keyId);
}
