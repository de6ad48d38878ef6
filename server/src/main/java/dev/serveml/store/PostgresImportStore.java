package dev.serveml.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.imports.HubImport;
import dev.serveml.imports.ImportEvent;
import dev.serveml.imports.ImportStore;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** {@link ImportStore} on PostgreSQL with plain JDBC; each state is kept as JSON. */
public final class PostgresImportStore implements ImportStore {
    private final DataSource dataSource;
    private final ObjectMapper json;

    public PostgresImportStore(DataSource dataSource, ObjectMapper json) {
        this.dataSource = dataSource;
        this.json = json;
    }

    @Override
    public ImportEvent insert(HubImport state) {
        return write(state, true);
    }

    @Override
    public ImportEvent record(HubImport state) {
        return write(state, false);
    }

    private ImportEvent write(HubImport state, boolean insert) {
        String text = text(state);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement s = c.prepareStatement(insert
                        ? "insert into model_imports (model_name, owner_id, phase, state, created_at, updated_at, id) "
                        + "values (?, ?, ?, ?::jsonb, ?, ?, ?)"
                        : "update model_imports set model_name = ?, owner_id = ?, phase = ?, state = ?::jsonb, "
                        + "created_at = ?, updated_at = ? where id = ?")) {
                    s.setString(1, state.modelName());
                    s.setObject(2, state.ownerId());
                    s.setString(3, state.phase().value());
                    s.setString(4, text);
                    s.setObject(5, java.sql.Timestamp.from(state.createdAt()));
                    s.setObject(6, java.sql.Timestamp.from(state.updatedAt()));
                    s.setString(7, state.id());
                    s.executeUpdate();
                }
                ImportEvent event;
                try (PreparedStatement s = c.prepareStatement("insert into model_import_events (import_id, phase, state) "
                        + "values (?, ?, ?::jsonb) returning id")) {
                    s.setString(1, state.id());
                    s.setString(2, state.phase().value());
                    s.setString(3, text);
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        event = new ImportEvent(rs.getLong(1), state);
                    }
                }
                c.commit();
                return event;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw StoreException.of("record import", e);
        }
    }

    @Override
    public Optional<HubImport> find(String id) {
        return states("select state from model_imports where id = ?", id).stream().findFirst();
    }

    @Override
    public List<HubImport> list(String modelName) {
        return states("select state from model_imports where model_name = ? order by created_at desc, id", modelName);
    }

    @Override
    public List<HubImport> unfinished() {
        return states("select state from model_imports where phase not in ('ready', 'failed') order by created_at",
                null);
    }

    @Override
    public List<ImportEvent> events(String id) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "select id, state from model_import_events where import_id = ? order by id")) {
            s.setString(1, id);
            try (ResultSet rs = s.executeQuery()) {
                List<ImportEvent> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(new ImportEvent(rs.getLong(1), state(rs.getString(2))));
                }
                return out;
            }
        } catch (SQLException e) {
            throw StoreException.of("read import events", e);
        }
    }

    private List<HubImport> states(String sql, String parameter) {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(sql)) {
            if (parameter != null) {
                s.setString(1, parameter);
            }
            try (ResultSet rs = s.executeQuery()) {
                List<HubImport> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(state(rs.getString(1)));
                }
                return out;
            }
        } catch (SQLException e) {
            throw StoreException.of("read imports", e);
        }
    }

    private String text(HubImport state) {
        try {
            return json.writeValueAsString(state);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an import's state is not JSON", e);
        }
    }

    private HubImport state(String text) {
        try {
            return json.readValue(text, HubImport.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a stored import's state cannot be read", e);
        }
    }
}
