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
            // A dead database must be answered fast (503 within the timeout), not after Hikari's 30 s.
            hikari.setConnectionTimeout(Math.max(250, config.connectTimeout().toMillis()));
            hikari.setValidationTimeout(Math.max(250, Math.min(1_000, config.connectTimeout().toMillis())));
            // A database that hangs (stopped, a network partition) must not hold a request, the
            // readiness check or a pool connection forever: every read on the socket has a bound.
            hikari.addDataSourceProperty("socketTimeout", Long.toString(Math.max(1, config.socketTimeout().toSeconds())));
            hikari.addDataSourceProperty("connectTimeout", Long.toString(Math.max(1, config.connectTimeout().toSeconds())));
            if (config.embedded()) {
                long started = System.nanoTime();
                embedded = LocalPostgres.start(embeddedDir, config.embeddedBinaries().orElse(embeddedDir.resolve("bin")));
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

    /** True when a connection answers a trivial query within the connect timeout. Blocking. */
    public boolean ping() {
        // isValid bounds the round trip with a network timeout. A query with a query timeout did not:
        // on a hung server its cancel goes unanswered too and the read waited for the socket timeout,
        // and the pool hands out a connection used in the last 500 ms without validating it (the
        // usage writer's, every second), so readiness took 10 s to see a stopped database.
        try (Connection c = pool.getConnection()) {
            boolean up = c.isValid(2);
            lastCheck = new Health(up, System.currentTimeMillis());
            return up;
        } catch (SQLException e) {
            lastCheck = new Health(false, System.currentTimeMillis());
            return false;
        }
    }

    /** The outcome of the last {@link #ping}, for readiness to answer without waiting. */
    public record Health(boolean up, long checkedAtMillis) {
    }

    private volatile Health lastCheck = new Health(true, System.currentTimeMillis());

    /** What the last check found; never blocks (the checks run on a timer, see {@link #watch}). */
    public Health health() {
        return lastCheck;
    }

    /**
     * Checks the database every {@code period} on a platform thread of its own (a check may
     * block for the connect timeout), so readiness can answer at once; restarts the embedded
     * PostgreSQL when it has died.
     */
    public AutoCloseable watch(java.time.Duration period) {
        java.util.concurrent.ScheduledExecutorService timer = java.util.concurrent.Executors
                .newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "serveml-db-watch");
                    t.setDaemon(true);
                    return t;
                });
        timer.scheduleWithFixedDelay(() -> {
            boolean was = lastCheck.up();
            boolean up = ping();
            if (!up && embedded != null && !embedded.alive()) {
                // Ours died (kill -9, the OOM killer): start it again rather than wait for a person.
                up = embedded.restartIfDead() && ping();
            }
            if (was != up) {
                if (up) {
                    log.info("the database answers again");
                } else {
                    log.warn("the database does not answer: writes are refused with 503 database-unavailable; "
                            + "known callers keep being served");
                }
            }
        }, period.toMillis(), period.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        return timer::shutdownNow;
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
