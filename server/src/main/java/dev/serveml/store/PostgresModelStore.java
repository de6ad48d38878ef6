package dev.serveml.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.tensor.Signature;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.Model;
import dev.serveml.registry.ModelSettings;
import dev.serveml.registry.ModelStore;
import dev.serveml.registry.ModelVersion;
import dev.serveml.registry.NewVersion;
import dev.serveml.registry.Uploader;
import dev.serveml.registry.VersionState;
import dev.serveml.registry.VersionStatus;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/** {@link ModelStore} on PostgreSQL with plain JDBC. */
public final class PostgresModelStore implements ModelStore {
    private static final String MODEL_COLUMNS = """
            m.id, m.name, m.description, m.owner_id, m.public, m.rate_limit_per_minute, m.cache_enabled, m.cache_ttl_seconds, m.created_at, m.updated_at,
            m.deleted_at,
            coalesce((select max(v.version) from model_versions v where v.model_id = m.id), 0) as latest_version,
            (select count(*) from model_versions v where v.model_id = m.id and v.deleted_at is null) as version_count
            """;
    private static final String VERSION_COLUMNS = """
            v.id, v.model_id, m.name as model_name, v.version, v.format, v.runtime, v.sha256, v.size_bytes,
            v.artifact_key, v.file_name, v.signature, v.state, v.status, v.status_message, v.requirements, v.metadata,
            v.created_at, v.updated_at, v.deleted_at
            """;

    private static final TypeReference<Map<String, Object>> METADATA = new TypeReference<>() { };
    /** The first key of the advisory lock that serialises one user's uploads against their quota. */
    private static final int QUOTA_LOCK_CLASS = 0x51554f54; // "QUOT"

    private final DataSource dataSource;
    private final ObjectMapper json;

    public PostgresModelStore(DataSource dataSource, ObjectMapper json) {
        this.dataSource = dataSource;
        this.json = json;
    }

    @Override
    public List<Model> listModels(boolean includeDeleted) {
        String sql = "select " + MODEL_COLUMNS + " from models m"
                + (includeDeleted ? "" : " where m.deleted_at is null") + " order by m.name";
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(sql);
             ResultSet rs = s.executeQuery()) {
            List<Model> models = new ArrayList<>();
            while (rs.next()) {
                models.add(model(rs));
            }
            return models;
        } catch (SQLException e) {
            throw StoreException.of("list models", e);
        }
    }

    @Override
    public Optional<Model> findModel(String name) {
        try (Connection c = dataSource.getConnection()) {
            return findModel(c, name);
        } catch (SQLException e) {
            throw StoreException.of("find model", e);
        }
    }

    private Optional<Model> findModel(Connection c, String name) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("select " + MODEL_COLUMNS + " from models m where m.name = ?")) {
            s.setString(1, name);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.of(model(rs)) : Optional.empty();
            }
        }
    }

    @Override
    public ModelVersion insertVersion(String modelName, Uploader uploader, NewVersion v,
                                      Consumer<ModelVersion> beforeCommit) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                if (uploader.hasQuota()) {
                    // One user's uploads to different models take this lock first (then a model row),
                    // so two of them cannot both fit under the quota; administrators take no quota lock.
                    try (PreparedStatement s = c.prepareStatement("select pg_advisory_xact_lock(?, ?)")) {
                        s.setInt(1, QUOTA_LOCK_CLASS);
                        s.setInt(2, Long.hashCode(uploader.userId()));
                        s.execute();
                    }
                }
                try (PreparedStatement s = c.prepareStatement(
                        "insert into models (name, owner_id) values (?, ?) on conflict (name) do nothing")) {
                    s.setString(1, modelName);
                    s.setLong(2, uploader.userId());
                    s.executeUpdate();
                }
                long modelId;
                // The row lock serialises concurrent uploads to one model, so numbers never collide, and
                // the owner read under it is the owner at commit: a race for a new name has one winner.
                try (PreparedStatement s = c.prepareStatement(
                        "select id, owner_id, deleted_at from models where name = ? for update")) {
                    s.setString(1, modelName);
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        if (!uploader.mayAddTo((Long) rs.getObject("owner_id"))) {
                            throw Uploader.nameTaken(modelName);
                        }
                        if (rs.getTimestamp("deleted_at") != null) {
                            throw new ProblemException(ProblemType.MODEL_DELETED, "model '" + modelName
                                    + "' is deleted; restore it (POST /api/v1/models/" + modelName
                                    + "/restore) or upload under another name");
                        }
                        modelId = rs.getLong("id");
                    }
                }
                if (uploader.hasQuota()) {
                    StoredBytes stored = storedBytes(c, uploader.userId(), v.artifactKey());
                    uploader.requireRoom(stored.total(), stored.adding(v.sizeBytes()));
                }
                long versionId;
                try (PreparedStatement s = c.prepareStatement("""
                        insert into model_versions
                            (model_id, version, format, runtime, sha256, size_bytes, artifact_key, file_name, signature,
                             status, status_message, requirements, metadata)
                        values (?, (select coalesce(max(version), 0) + 1 from model_versions where model_id = ?),
                                ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?::jsonb)
                        returning id""")) {
                    s.setLong(1, modelId);
                    s.setLong(2, modelId);
                    s.setString(3, v.format());
                    s.setString(4, v.runtime());
                    s.setString(5, v.sha256());
                    s.setLong(6, v.sizeBytes());
                    s.setString(7, v.artifactKey());
                    s.setString(8, v.fileName());
                    s.setString(9, json.writeValueAsString(v.signature()));
                    s.setString(10, v.status().value());
                    s.setString(11, v.statusMessage());
                    s.setString(12, v.requirements().orElse(null));
                    s.setString(13, json.writeValueAsString(v.metadata()));
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        versionId = rs.getLong(1);
                    }
                }
                try (PreparedStatement s = c.prepareStatement("update models set updated_at = now() where id = ?")) {
                    s.setLong(1, modelId);
                    s.executeUpdate();
                }
                ModelVersion inserted = findVersionById(c, versionId).orElseThrow();
                beforeCommit.accept(inserted);
                c.commit();
                return inserted;
            } catch (RuntimeException | SQLException | JsonProcessingException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException | JsonProcessingException e) {
            throw StoreException.of("insert version", e);
        }
    }

    @Override
    public StoredBytes storedBytes(long ownerId, String artifactKey) {
        try (Connection c = dataSource.getConnection()) {
            return storedBytes(c, ownerId, artifactKey);
        } catch (SQLException e) {
            throw StoreException.of("sum stored bytes", e);
        }
    }

    private static StoredBytes storedBytes(Connection c, long ownerId, String artifactKey) throws SQLException {
        // Content-addressed: a file kept by two versions is stored once, so it is counted once.
        try (PreparedStatement s = c.prepareStatement("""
                select coalesce(sum(size_bytes), 0), coalesce(bool_or(artifact_key = ?), false)
                from (select distinct v.artifact_key, v.size_bytes
                      from model_versions v join models m on m.id = v.model_id
                      where m.owner_id = ?) artifacts""")) {
            s.setString(1, artifactKey);
            s.setLong(2, ownerId);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return new StoredBytes(rs.getLong(1), rs.getBoolean(2));
            }
        }
    }

    @Override
    public Optional<Model> updateModelSettings(String name, ModelSettings settings) {
        // For each nullable setting: null keeps the column; for the limit and TTL, 0 clears it.
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "update models set public = coalesce(cast(? as boolean), public), "
                        + "rate_limit_per_minute = " + clearable("rate_limit_per_minute") + ", "
                        + "description = coalesce(cast(? as text), description), "
                        + "cache_enabled = coalesce(cast(? as boolean), cache_enabled), "
                        + "cache_ttl_seconds = " + clearable("cache_ttl_seconds") + ", "
                        + "updated_at = now() where name = ?")) {
            s.setObject(1, settings.isPublic());
            for (int i = 2; i <= 4; i++) {
                s.setObject(i, settings.rateLimitPerMinute());
            }
            s.setString(5, settings.description());
            s.setObject(6, settings.cacheEnabled());
            for (int i = 7; i <= 9; i++) {
                s.setObject(i, settings.cacheTtlSeconds());
            }
            s.setString(10, name);
            return s.executeUpdate() == 0 ? Optional.empty() : findModel(c, name);
        } catch (SQLException e) {
            throw StoreException.of("update model settings", e);
        }
    }

    /** An integer column set from three copies of one parameter: null keeps it, 0 clears it. */
    private static String clearable(String column) {
        return "case when cast(? as integer) is null then " + column + " when cast(? as integer) = 0 then null "
                + "else cast(? as integer) end";
    }

    @Override
    public List<ModelVersion> listVersions(long modelId, boolean includeDeleted) {
        String sql = "select " + VERSION_COLUMNS + " from model_versions v join models m on m.id = v.model_id"
                + " where v.model_id = ?" + (includeDeleted ? "" : " and v.deleted_at is null") + " order by v.version";
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            s.setLong(1, modelId);
            try (ResultSet rs = s.executeQuery()) {
                List<ModelVersion> versions = new ArrayList<>();
                while (rs.next()) {
                    versions.add(version(rs));
                }
                return versions;
            }
        } catch (SQLException e) {
            throw StoreException.of("list versions", e);
        }
    }

    @Override
    public Optional<ModelVersion> findVersion(long modelId, int version) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "select " + VERSION_COLUMNS + " from model_versions v join models m on m.id = v.model_id"
                        + " where v.model_id = ? and v.version = ?")) {
            s.setLong(1, modelId);
            s.setInt(2, version);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.of(version(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw StoreException.of("find version", e);
        }
    }

    private Optional<ModelVersion> findVersionById(Connection c, long id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("select " + VERSION_COLUMNS
                + " from model_versions v join models m on m.id = v.model_id where v.id = ?")) {
            s.setLong(1, id);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.of(version(rs)) : Optional.empty();
            }
        }
    }

    @Override
    public Optional<ModelVersion> updateVersionState(long modelId, int version, VersionState state) {
        return updateVersion(modelId, version, "state = '" + state.value() + "'");
    }

    @Override
    public Optional<ModelVersion> updateVersionStatus(long versionId, VersionStatus status, String message) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "update model_versions set status = ?, status_message = ?, updated_at = now() where id = ?")) {
            s.setString(1, status.value());
            s.setString(2, message);
            s.setLong(3, versionId);
            return s.executeUpdate() == 0 ? Optional.empty() : findVersionById(c, versionId);
        } catch (SQLException e) {
            throw StoreException.of("update version status", e);
        }
    }

    @Override
    public Optional<ModelVersion> setVersionDeleted(long modelId, int version, boolean deleted) {
        return updateVersion(modelId, version, deleted ? "deleted_at = coalesce(deleted_at, now())" : "deleted_at = null");
    }

    /** {@code assignment} is always a constant chosen in this class, never client text. */
    private Optional<ModelVersion> updateVersion(long modelId, int version, String assignment) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "update model_versions set " + assignment + ", updated_at = now() where model_id = ? and version = ?"
                        + " returning id")) {
            s.setLong(1, modelId);
            s.setInt(2, version);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? findVersionById(c, rs.getLong(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw StoreException.of("update version", e);
        }
    }

    @Override
    public Optional<Model> setModelDeleted(String name, boolean deleted) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "update models set deleted_at = " + (deleted ? "coalesce(deleted_at, now())" : "null")
                        + ", updated_at = now() where name = ?")) {
            s.setString(1, name);
            return s.executeUpdate() == 0 ? Optional.empty() : findModel(c, name);
        } catch (SQLException e) {
            throw StoreException.of("delete model", e);
        }
    }

    private static Model model(ResultSet rs) throws SQLException {
        return new Model(rs.getLong("id"), rs.getString("name"), rs.getString("description"),
                (Long) rs.getObject("owner_id"), rs.getBoolean("public"), (Integer) rs.getObject("rate_limit_per_minute"),
                (Boolean) rs.getObject("cache_enabled"), (Integer) rs.getObject("cache_ttl_seconds"),
                instant(rs, "created_at"), instant(rs, "updated_at"), Optional.ofNullable(instant(rs, "deleted_at")),
                rs.getInt("latest_version"), rs.getInt("version_count"));
    }

    private ModelVersion version(ResultSet rs) throws SQLException {
        Signature signature;
        Map<String, Object> metadata;
        try {
            signature = json.readValue(rs.getString("signature"), Signature.class);
            metadata = json.readValue(rs.getString("metadata"), METADATA);
        } catch (JsonProcessingException e) {
            throw new SQLException("unreadable signature of version " + rs.getLong("id"), e);
        }
        return new ModelVersion(rs.getLong("id"), rs.getLong("model_id"), rs.getString("model_name"),
                rs.getInt("version"), rs.getString("format"), rs.getString("runtime"), rs.getString("sha256"),
                rs.getLong("size_bytes"), rs.getString("artifact_key"), rs.getString("file_name"), signature,
                VersionState.parse(rs.getString("state")).orElseThrow(), VersionStatus.parse(rs.getString("status")),
                rs.getString("status_message"), Optional.ofNullable(rs.getString("requirements")), metadata,
                instant(rs, "created_at"),
                instant(rs, "updated_at"), Optional.ofNullable(instant(rs, "deleted_at")));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
