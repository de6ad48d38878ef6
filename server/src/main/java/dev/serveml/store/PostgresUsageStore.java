package dev.serveml.store;

import dev.serveml.usage.UsageQuery;
import dev.serveml.usage.UsageRow;
import dev.serveml.usage.UsageStore;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** {@link UsageStore} on PostgreSQL: one row per UTC day, user, key and model, added to in place. */
public final class PostgresUsageStore implements UsageStore {
    private final DataSource dataSource;

    public PostgresUsageStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public void add(List<UsageRow> rows) {
        if (rows.isEmpty()) {
            return;
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            // Sorted, so two writers (replicas) lock the same rows in the same order and never deadlock.
            List<UsageRow> sorted = new ArrayList<>(rows);
            sorted.sort(java.util.Comparator.comparingLong(UsageRow::userId).thenComparing(UsageRow::day)
                    .thenComparingLong(UsageRow::keyId).thenComparing(UsageRow::model));
            try (PreparedStatement s = c.prepareStatement("insert into usage_daily (day, user_id, key_id, model, "
                    + "requests, prompt_tokens, completion_tokens) values (?, ?, ?, ?, ?, ?, ?) "
                    + "on conflict (user_id, day, key_id, model) do update set "
                    + "requests = usage_daily.requests + excluded.requests, "
                    + "prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens, "
                    + "completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens")) {
                for (UsageRow r : sorted) {
                    s.setDate(1, Date.valueOf(r.day()));
                    s.setLong(2, r.userId());
                    s.setLong(3, r.keyId());
                    s.setString(4, r.model());
                    s.setLong(5, r.requests());
                    s.setLong(6, r.promptTokens());
                    s.setLong(7, r.completionTokens());
                    s.addBatch();
                }
                s.executeBatch();
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw StoreException.of("add usage counts", e);
        }
    }

    @Override
    public List<UsageRow> query(UsageQuery q) {
        StringBuilder sql = new StringBuilder("select day, user_id, key_id, model, requests, prompt_tokens, "
                + "completion_tokens from usage_daily where day >= ? and day <= ?");
        List<Object> args = new ArrayList<>(List.of(Date.valueOf(q.from()), Date.valueOf(q.to())));
        if (q.userId() != 0) {
            sql.append(" and user_id = ?");
            args.add(q.userId());
        }
        if (q.keyId() != null) {
            sql.append(" and key_id = ?");
            args.add(q.keyId());
        }
        if (q.model() != null) {
            sql.append(" and model = ?");
            args.add(q.model());
        }
        sql.append(" order by day desc, user_id, key_id, model limit ?");
        args.add(q.limit());
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < args.size(); i++) {
                s.setObject(i + 1, args.get(i));
            }
            try (ResultSet rs = s.executeQuery()) {
                List<UsageRow> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(new UsageRow(rs.getDate(1).toLocalDate(), rs.getLong(2), rs.getLong(3), rs.getString(4),
                            rs.getLong(5), rs.getLong(6), rs.getLong(7)));
                }
                return rows;
            }
        } catch (SQLException e) {
            throw StoreException.of("read usage", e);
        }
    }
}
