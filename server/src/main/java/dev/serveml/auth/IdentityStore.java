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

    /**
     * Stores a key. When it has a parent, the parent is locked and must still be usable, so a key
     * being revoked cannot gain a child that escapes the revocation.
     *
     * @throws dev.serveml.problem.ProblemException {@code invalid-api-key} if the parent was revoked or expired meanwhile
     */
    ApiKey insertApiKey(NewApiKey key);

    Optional<ApiKey> findApiKey(long id);

    Optional<ApiKey> findApiKeyByPrefix(String prefix);

    /** The limits of the keys {@code keyId} was created from, nearest first; only those with a limit or quota. */
    List<Allowance> findInheritedAllowances(long keyId);

    List<ApiKey> listApiKeys(long userId);

    /**
     * Revokes a key and every key created from it, transitively.
     *
     * @return the key first, then the keys revoked with it; empty if it does not exist or is not this user's
     */
    List<ApiKey> revokeApiKey(long userId, long keyId);
}
