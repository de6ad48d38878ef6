package dev.serveml.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.serveml.config.DatabaseConfig;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The metadata database: an external PostgreSQL, or an embedded one whose data lives under the
 * data directory (so it survives restarts), run and owned by ServeML itself ({@link LocalPostgres}:
 * password required, loopback only, stopped on every way out, an orphan from a killed ServeML
 * stopped at start). Migrated with Flyway when opened.
 */
public final class Database implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Database.class);

    private final LocalPostgres embedded;
    private final HikariDataSource pool;

    private Database(LocalPostgres embedded, HikariDataSource pool) {
        this.embedded = embedded;
        this.pool = pool;
    }

    /** Starts (if embedded), connects and migrates. Blocking. */
    public static Database open(DatabaseConfig config, Path embeddedDir) {
        LocalPostgres embedded = null;
        HikariDataSource pool = null;
        try {
            HikariConfig hikari = new HikariConfig();
            hikari.setPoolName("serveml-db");
            hikari.setMaximumPoolSize(config.poolSize());
            hikari.setMinimumIdle(1);
            if (config.embedded()) {
                long started = System.nanoTime();
                embedded = LocalPostgres.start(embeddedDir);
                hikari.setJdbcUrl(embedded.jdbcUrl());
                hikari.setUsername(LocalPostgres.USER);
                hikari.setPassword(embedded.password());
                log.info("embedded PostgreSQL on 127.0.0.1:{} with data in {} ready in {} ms", embedded.port(),
                        embeddedDir, (System.nanoTime() - started) / 1_000_000);
            } else {
                hikari.setJdbcUrl(config.url().orElseThrow());
                hikari.setUsername(config.user());
                hikari.setPassword(config.password());
            }
            pool = new HikariDataSource(hikari);
            migrate(pool);
            return new Database(embedded, pool);
        } catch (RuntimeException | Error e) {
            if (pool != null) {
                pool.close();
            }
            closeEmbedded(embedded);
            throw e;
        }
    }

    private static void migrate(DataSource dataSource) {
        Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                .load()
                .migrate();
    }

    public DataSource dataSource() {
        return pool;
    }

    /** True when a connection answers a trivial query (for readiness). */
    public boolean ping() {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            s.setQueryTimeout(2);
            return s.execute("select 1");
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public void close() {
        try {
            pool.close();
        } finally {
            closeEmbedded(embedded);
        }
    }

    private static void closeEmbedded(LocalPostgres embedded) {
        if (embedded != null) {
            embedded.close();
        }
    }
}
