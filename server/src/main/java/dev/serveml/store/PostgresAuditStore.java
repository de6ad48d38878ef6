package dev.serveml.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.audit.AuditEntry;
import dev.serveml.audit.AuditQuery;
import dev.serveml.audit.AuditStore;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@link AuditStore} on PostgreSQL. */
public final class PostgresAuditStore implements AuditStore {
    private static final TypeReference<Map<String, Object>> DETAIL = new TypeReference<>() { };

    private final DataSource dataSource;
    private final ObjectMapper json;

    public PostgresAuditStore(DataSource dataSource, ObjectMapper json) {
        this.dataSource = dataSource;
        this.json = json;
    }

    @Override
    public void insert(AuditEntry e) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "insert into audit_log (actor_id, actor, ip, action, target, outcome, detail) values (?, ?, ?, ?, ?, ?, ?::jsonb)")) {
            s.setObject(1, e.actorId() == 0 ? null : e.actorId());
            s.setString(2, e.actor());
            s.setString(3, e.ip());
            s.setString(4, e.action());
            s.setString(5, e.target());
            s.setString(6, e.outcome());
            s.setString(7, json.writeValueAsString(e.detail()));
            s.executeUpdate();
        } catch (SQLException | JsonProcessingException ex) {
            throw StoreException.of("insert audit entry", ex);
        }
    }

    @Override
    public List<AuditEntry> query(AuditQuery q) {
        StringBuilder sql = new StringBuilder("select id, at, actor_id, actor, ip, action, target, outcome, detail "
                + "from audit_log where true");
        List<Object> args = new ArrayList<>();
        if (q.actorId() != 0) {
            sql.append(" and actor_id = ?");
            args.add(q.actorId());
        }
        if (q.action() != null) {
            sql.append(" and action = ?");
            args.add(q.action());
        }
        if (q.since() != null) {
            sql.append(" and at >= ?");
            args.add(Timestamp.from(q.since()));
        }
        if (q.until() != null) {
            sql.append(" and at < ?");
            args.add(Timestamp.from(q.until()));
        }
        if (q.beforeId() > 0) {
            sql.append(" and id < ?");
            args.add(q.beforeId());
        }
        sql.append(" order by id desc limit ?");
        args.add(q.limit());
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < args.size(); i++) {
                s.setObject(i + 1, args.get(i));
            }
            try (ResultSet rs = s.executeQuery()) {
                List<AuditEntry> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(new AuditEntry(rs.getLong(1), rs.getTimestamp(2).toInstant(), rs.getLong(3), rs.getString(4),
                            rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8),
                            json.readValue(rs.getString(9), DETAIL)));
                }
                return out;
            }
        } catch (SQLException | JsonProcessingException ex) {
            throw StoreException.of("query audit log", ex);
        }
    }
}
