package dev.serveml.store;

import dev.serveml.auth.Allowance;
import dev.serveml.auth.ApiKey;
import dev.serveml.auth.IdentityStore;
import dev.serveml.auth.NewApiKey;
import dev.serveml.auth.RefreshToken;
import dev.serveml.auth.Role;
import dev.serveml.auth.Scope;
import dev.serveml.auth.User;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import javax.sql.DataSource;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/** {@link IdentityStore} on PostgreSQL with plain JDBC. */
public final class PostgresIdentityStore implements IdentityStore {
    private static final String KEY_COLUMNS = "id, user_id, name, prefix, key_hash, scopes, rate_limit_per_minute, "
            + "daily_quota, created_at, expires_at, revoked_at, parent_id, tokens_per_minute, tokens_per_day";

    private final DataSource dataSource;

    public PostgresIdentityStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T with(String operation, Work<T> work) {
        try (Connection c = dataSource.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            throw StoreException.of(operation, e);
        }
    }

    @Override
    public User createUser(String username, String passwordHash, Role role) {
        return with("create user", c -> {
            try (PreparedStatement s = c.prepareStatement("insert into users (username, password_hash, role) "
                    + "values (?, ?, ?) on conflict (username) do nothing returning id")) {
                s.setString(1, username);
                s.setString(2, passwordHash);
                s.setString(3, role.value());
                try (ResultSet rs = s.executeQuery()) {
                    if (!rs.next()) {
                        throw new ProblemException(ProblemType.NAME_TAKEN, "the username '" + username
                                + "' is taken; choose another");
                    }
                    return findUser(c, "id = ?", rs.getLong(1)).orElseThrow();
                }
            }
        });
    }

    @Override
    public Optional<User> findUser(String username) {
        return with("find user", c -> findUser(c, "username = ?", username));
    }

    @Override
    public Optional<User> findUser(long id) {
        return with("find user", c -> findUser(c, "id = ?", id));
    }

    private static Optional<User> findUser(Connection c, String where, Object value) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("select id, username, password_hash, role, created_at, deleted_at "
                + "from users where " + where)) {
            s.setObject(1, value);
            try (ResultSet rs = s.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new User(rs.getLong(1), rs.getString(2), rs.getString(3), Role.parse(rs.getString(4)),
                        rs.getTimestamp(5).toInstant(), rs.getTimestamp(6) != null));
            }
        }
    }

    @Override
    public long countUsers() {
        return with("count users", c -> {
            try (PreparedStatement s = c.prepareStatement("select count(*) from users");
                 ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    @Override
    public List<User> listUsers() {
        return with("list users", c -> {
            try (PreparedStatement s = c.prepareStatement("select id from users where deleted_at is null order by id");
                 ResultSet rs = s.executeQuery()) {
                List<User> users = new ArrayList<>();
                while (rs.next()) {
                    findUser(c, "id = ?", rs.getLong(1)).ifPresent(users::add);
                }
                return users;
            }
        });
    }

    @Override
    public boolean deleteUser(long id) {
        return with("delete user", c -> {
            c.setAutoCommit(false);
            try (PreparedStatement user = c.prepareStatement(
                    "update users set deleted_at = now() where id = ? and deleted_at is null");
                 PreparedStatement tokens = c.prepareStatement(
                         "update refresh_tokens set revoked_at = coalesce(revoked_at, now()) where user_id = ?");
                 PreparedStatement keys = c.prepareStatement(
                         "update api_keys set revoked_at = coalesce(revoked_at, now()) where user_id = ?")) {
                user.setLong(1, id);
                boolean deleted = user.executeUpdate() == 1;
                tokens.setLong(1, id);
                tokens.executeUpdate();
                keys.setLong(1, id);
                keys.executeUpdate();
                c.commit();
                return deleted;
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        });
    }

    @Override
    public void insertRefreshToken(long userId, UUID family, String tokenHash, Instant expiresAt) {
        with("insert refresh token", c -> {
            try (PreparedStatement s = c.prepareStatement("insert into refresh_tokens (user_id, family, token_hash, "
                    + "expires_at) values (?, ?, ?, ?)")) {
                s.setLong(1, userId);
                s.setObject(2, family);
                s.setString(3, tokenHash);
                s.setTimestamp(4, Timestamp.from(expiresAt));
                return s.executeUpdate();
            }
        });
    }

    @Override
    public Optional<RefreshToken> findRefreshToken(String tokenHash) {
        return with("find refresh token", c -> {
            try (PreparedStatement s = c.prepareStatement("select id, user_id, family, expires_at, used_at, revoked_at "
                    + "from refresh_tokens where token_hash = ?")) {
                s.setString(1, tokenHash);
                try (ResultSet rs = s.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.empty();
                    }
                    return Optional.of(new RefreshToken(rs.getLong(1), rs.getLong(2), (UUID) rs.getObject(3),
                            rs.getTimestamp(4).toInstant(), instant(rs, 5), instant(rs, 6)));
                }
            }
        });
    }

    @Override
    public boolean markRefreshTokenUsed(long id) {
        return with("use refresh token", c -> {
            try (PreparedStatement s = c.prepareStatement("update refresh_tokens set used_at = now() "
                    + "where id = ? and used_at is null and revoked_at is null")) {
                s.setLong(1, id);
                return s.executeUpdate() == 1;
            }
        });
    }

    @Override
    public void revokeFamily(UUID family) {
        with("revoke refresh tokens", c -> {
            try (PreparedStatement s = c.prepareStatement("update refresh_tokens set revoked_at = coalesce(revoked_at, now()) "
                    + "where family = ?")) {
                s.setObject(1, family);
                return s.executeUpdate();
            }
        });
    }

    @Override
    public ApiKey insertApiKey(NewApiKey key) {
        return with("create api key", c -> {
            c.setAutoCommit(false);
            try {
                // The parent's row lock orders this insert against a revocation of the parent: either
                // the revocation sees this child and revokes it too, or this insert sees the parent revoked.
                if (key.parentId() != null && !lockUsableParent(c, key)) {
                    c.rollback();
                    throw new ProblemException(ProblemType.INVALID_API_KEY, "the API key used was revoked or expired "
                            + "while this key was being created");
                }
                ApiKey created = insert(c, key);
                c.commit();
                return created;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        });
    }

    private static boolean lockUsableParent(Connection c, NewApiKey key) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("select 1 from api_keys where id = ? and user_id = ? and "
                + "revoked_at is null and (expires_at is null or expires_at > now()) for share")) {
            s.setLong(1, key.parentId());
            s.setLong(2, key.userId());
            try (ResultSet rs = s.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static ApiKey insert(Connection c, NewApiKey key) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("insert into api_keys (user_id, name, prefix, key_hash, scopes, "
                + "rate_limit_per_minute, daily_quota, expires_at, parent_id, tokens_per_minute, tokens_per_day) "
                + "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                + "returning " + KEY_COLUMNS)) {
            s.setLong(1, key.userId());
            s.setString(2, key.name());
            s.setString(3, key.prefix());
            s.setString(4, key.keyHash());
            s.setArray(5, c.createArrayOf("text", key.scopes().stream().map(Scope::value).sorted().toArray()));
            s.setObject(6, key.rateLimitPerMinute());
            s.setObject(7, key.dailyQuota());
            s.setTimestamp(8, key.expiresAt() == null ? null : Timestamp.from(key.expiresAt()));
            s.setObject(9, key.parentId());
            s.setObject(10, key.tokensPerMinute());
            s.setObject(11, key.tokensPerDay());
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return key(rs);
            }
        }
    }

    @Override
    public Optional<ApiKey> findApiKey(long id) {
        return with("find api key", c -> {
            try (PreparedStatement s = c.prepareStatement("select " + KEY_COLUMNS + " from api_keys where id = ?")) {
                s.setLong(1, id);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next() ? Optional.of(key(rs)) : Optional.empty();
                }
            }
        });
    }

    @Override
    public Optional<ApiKey> findApiKeyByPrefix(String prefix) {
        return with("find api key", c -> {
            try (PreparedStatement s = c.prepareStatement("select " + KEY_COLUMNS + " from api_keys where prefix = ?")) {
                s.setString(1, prefix);
                try (ResultSet rs = s.executeQuery()) {
                    return rs.next() ? Optional.of(key(rs)) : Optional.empty();
                }
            }
        });
    }

    @Override
    public List<Allowance> findInheritedAllowances(long keyId) {
        return with("find inherited key limits", c -> {
            // Parents exist before their children, so the chain has no cycles; the depth bound is a guard.
            try (PreparedStatement s = c.prepareStatement("with recursive chain (id, parent_id, per_minute, quota, "
                    + "tpm, tpd, depth) as (select p.id, p.parent_id, p.rate_limit_per_minute, p.daily_quota, "
                    + "p.tokens_per_minute, p.tokens_per_day, 1 from api_keys k "
                    + "join api_keys p on p.id = k.parent_id where k.id = ? "
                    + "union all select p.id, p.parent_id, p.rate_limit_per_minute, p.daily_quota, p.tokens_per_minute, "
                    + "p.tokens_per_day, chain.depth + 1 "
                    + "from chain join api_keys p on p.id = chain.parent_id where chain.depth < 100) "
                    + "select id, per_minute, quota, tpm, tpd from chain where per_minute is not null or quota is not null "
                    + "or tpm is not null or tpd is not null order by depth")) {
                s.setLong(1, keyId);
                try (ResultSet rs = s.executeQuery()) {
                    List<Allowance> found = new ArrayList<>();
                    while (rs.next()) {
                        found.add(new Allowance(rs.getLong(1), rs.getInt(2), rs.getInt(3), rs.getInt(4), rs.getInt(5)));
                    }
                    return found;
                }
            }
        });
    }

    @Override
    public List<ApiKey> listApiKeys(long userId) {
        return with("list api keys", c -> {
            try (PreparedStatement s = c.prepareStatement("select " + KEY_COLUMNS
                    + " from api_keys where user_id = ? order by id")) {
                s.setLong(1, userId);
                try (ResultSet rs = s.executeQuery()) {
                    return keys(rs);
                }
            }
        });
    }

    @Override
    public List<ApiKey> revokeApiKey(long userId, long keyId) {
        return with("revoke api key", c -> {
            c.setAutoCommit(false);
            // Two statements: the second starts after the first holds the key's row lock, so it also
            // sees a child whose insert committed while this waited for that lock.
            try (PreparedStatement key = c.prepareStatement("update api_keys set revoked_at = coalesce(revoked_at, "
                    + "now()) where id = ? and user_id = ? returning " + KEY_COLUMNS);
                 PreparedStatement descendants = c.prepareStatement("with recursive tree (id) as (select id from "
                         + "api_keys where parent_id = ? union select k.id from api_keys k join tree on k.parent_id = "
                         + "tree.id) update api_keys set revoked_at = coalesce(revoked_at, now()) where id in "
                         + "(select id from tree) returning " + KEY_COLUMNS)) {
                key.setLong(1, keyId);
                key.setLong(2, userId);
                List<ApiKey> revoked;
                try (ResultSet rs = key.executeQuery()) {
                    revoked = keys(rs);
                }
                if (revoked.isEmpty()) {
                    c.rollback();
                    return revoked;
                }
                descendants.setLong(1, keyId);
                try (ResultSet rs = descendants.executeQuery()) {
                    revoked.addAll(keys(rs));
                }
                c.commit();
                return revoked;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        });
    }

    private static List<ApiKey> keys(ResultSet rs) throws SQLException {
        List<ApiKey> keys = new ArrayList<>();
        while (rs.next()) {
            keys.add(key(rs));
        }
        return keys;
    }

    private static ApiKey key(ResultSet rs) throws SQLException {
        Array array = rs.getArray("scopes");
        Set<Scope> scopes = Arrays.stream((String[]) array.getArray()).map(Scope::parse)
                .flatMap(Optional::stream).collect(Collectors.toSet());
        return new ApiKey(rs.getLong("id"), rs.getLong("user_id"), rs.getString("name"), rs.getString("prefix"),
                rs.getString("key_hash"), scopes, (Integer) rs.getObject("rate_limit_per_minute"),
                (Integer) rs.getObject("daily_quota"), rs.getTimestamp("created_at").toInstant(),
                instant(rs, "expires_at"), instant(rs, "revoked_at"), (Long) rs.getObject("parent_id"),
                (Integer) rs.getObject("tokens_per_minute"), (Integer) rs.getObject("tokens_per_day"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
