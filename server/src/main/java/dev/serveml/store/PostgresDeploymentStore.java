package dev.serveml.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.deployments.Deployment;
import dev.serveml.deployments.DeploymentConfig;
import dev.serveml.deployments.DeploymentEvent;
import dev.serveml.deployments.DeploymentStatus;
import dev.serveml.deployments.DeploymentStore;
import dev.serveml.deployments.TrafficPolicy;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** {@link DeploymentStore} on PostgreSQL with plain JDBC. */
public final class PostgresDeploymentStore implements DeploymentStore {
    private static final String COLUMNS = """
            d.id, d.name, d.owner_id, d.model_id, m.name as model_name, d.policy, d.previous_policy, d.config,
            d.status, d.status_message, d.created_at, d.updated_at
            from deployments d join models m on m.id = d.model_id
            """;

    private final DataSource dataSource;
    private final ObjectMapper json;

    public PostgresDeploymentStore(DataSource dataSource, ObjectMapper json) {
        this.dataSource = dataSource;
        this.json = json;
    }

    @Override
    public Deployment insert(String name, Long ownerId, long modelId, TrafficPolicy policy, DeploymentConfig config) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement("""
                insert into deployments (name, owner_id, model_id, policy, config, status)
                values (?, ?, ?, ?::jsonb, ?::jsonb, 'pending') returning id""")) {
            s.setString(1, name);
            s.setObject(2, ownerId);
            s.setLong(3, modelId);
            s.setString(4, policy.toJson().toString());
            s.setString(5, config.toJson().toString());
            s.executeQuery().close();
        } catch (SQLException e) {
            if ("23505".equals(e.getSQLState())) {
                throw ProblemException.field(ProblemType.NAME_TAKEN, "/name", "a deployment named '" + name
                        + "' already exists; choose another name");
            }
            throw StoreException.of("insert deployment", e);
        }
        return find(name).orElseThrow();
    }

    @Override
    public Optional<Deployment> find(String name) {
        List<Deployment> found = query("select " + COLUMNS + " where d.name = ? and d.deleted_at is null", name);
        return found.stream().findFirst();
    }

    @Override
    public List<Deployment> list() {
        return query("select " + COLUMNS + " where d.deleted_at is null order by d.name", null);
    }

    private List<Deployment> query(String sql, String name) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            if (name != null) {
                s.setString(1, name);
            }
            try (ResultSet rs = s.executeQuery()) {
                List<Deployment> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(deployment(rs));
                }
                return out;
            }
        } catch (SQLException e) {
            throw StoreException.of("read deployments", e);
        }
    }

    @Override
    public Deployment update(long id, TrafficPolicy policy, Optional<TrafficPolicy> previous, DeploymentConfig config) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement("""
                update deployments set policy = ?::jsonb, previous_policy = ?::jsonb, config = ?::jsonb,
                    status = 'pending', status_message = '', updated_at = now()
                where id = ? returning name""")) {
            s.setString(1, policy.toJson().toString());
            s.setString(2, previous.map(p -> p.toJson().toString()).orElse(null));
            s.setString(3, config.toJson().toString());
            s.setLong(4, id);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return find(rs.getString(1)).orElseThrow();
            }
        } catch (SQLException e) {
            throw StoreException.of("update deployment", e);
        }
    }

    @Override
    public DeploymentEvent record(long id, DeploymentStatus status, String step, int percent, String message) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement s = c.prepareStatement("update deployments set status = ?, status_message = ?, "
                        + "updated_at = now() where id = ?")) {
                    s.setString(1, status.value());
                    s.setString(2, status == DeploymentStatus.FAILED ? message : "");
                    s.setLong(3, id);
                    s.executeUpdate();
                }
                DeploymentEvent event;
                try (PreparedStatement s = c.prepareStatement("insert into deployment_events "
                        + "(deployment_id, step, percent, message, status) values (?, ?, ?, ?, ?) returning id, at")) {
                    s.setLong(1, id);
                    s.setString(2, step);
                    s.setInt(3, percent);
                    s.setString(4, message);
                    s.setString(5, status.value());
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        event = new DeploymentEvent(rs.getLong(1), id, rs.getTimestamp(2).toInstant(), step, percent,
                                message, status);
                    }
                }
                c.commit();
                return event;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw StoreException.of("record deployment event", e);
        }
    }

    @Override
    public List<DeploymentEvent> events(long id) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "select id, at, step, percent, message, status from deployment_events where deployment_id = ? order by id")) {
            s.setLong(1, id);
            try (ResultSet rs = s.executeQuery()) {
                List<DeploymentEvent> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(new DeploymentEvent(rs.getLong(1), id, rs.getTimestamp(2).toInstant(), rs.getString(3),
                            rs.getInt(4), rs.getString(5), DeploymentStatus.parse(rs.getString(6))));
                }
                return out;
            }
        } catch (SQLException e) {
            throw StoreException.of("read deployment events", e);
        }
    }

    @Override
    public void markDeleted(long id) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "update deployments set deleted_at = now(), updated_at = now() where id = ?")) {
            s.setLong(1, id);
            s.executeUpdate();
        } catch (SQLException e) {
            throw StoreException.of("delete deployment", e);
        }
    }

    private Deployment deployment(ResultSet rs) throws SQLException {
        try {
            String previous = rs.getString("previous_policy");
            long owner = rs.getLong("owner_id");
            Long ownerId = rs.wasNull() ? null : owner;
            return new Deployment(rs.getLong("id"), rs.getString("name"), ownerId, rs.getLong("model_id"),
                    rs.getString("model_name"), TrafficPolicy.fromJson(json.readTree(rs.getString("policy"))),
                    previous == null ? Optional.empty()
                            : Optional.of(TrafficPolicy.fromJson(json.readTree(previous))),
                    DeploymentConfig.fromJson(json.readTree(rs.getString("config"))),
                    DeploymentStatus.parse(rs.getString("status")), rs.getString("status_message"),
                    rs.getTimestamp("created_at").toInstant(), rs.getTimestamp("updated_at").toInstant());
        } catch (JsonProcessingException e) {
            throw StoreException.of("read deployment", new SQLException(e));
        }
    }
}
