package dev.serveml.e2e;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;

import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The embedded PostgreSQL is not open to local processes: a tenant's code that reaches the
 * loopback port (pip once did) cannot connect without the password kept in the data directory,
 * and there is no Unix socket with trust next to it. An older data directory (trust) is
 * upgraded in place.
 */
class EmbeddedPostgresIT {
    @TempDir
    Path dataDir;

    @Test
    void aConnectionAsThePostgresSuperuserWithoutOrWithAWrongPasswordIsRefused() throws Exception {
        try (TestServer server = TestServer.start(dataDir)) {
            int port = postgresPort();

            SQLException none = catchThrowableOfType(SQLException.class, () -> connect(port, null));
            SQLException wrong = catchThrowableOfType(SQLException.class, () -> connect(port, "postgres"));

            assertThat((Throwable) none).as("no password").isNotNull();
            assertThat(none.getMessage()).contains("password");
            assertThat((Throwable) wrong).as("a wrong password").isNotNull();
            assertThat(wrong.getSQLState()).isEqualTo("28P01");
            assertThat(Path.of("/tmp/.s.PGSQL." + port)).as("no Unix socket").doesNotExist();
            try (Connection c = connect(port, password())) {
                assertThat(c.isValid(2)).as("the password in the data directory works").isTrue();
            }
            assertThat(Files.getPosixFilePermissions(dataDir.resolve("postgres/password")))
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));
            assertThat(server.upload("iris", "iris.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
            assertPredicts(server);
        }
    }

    @Test
    void aRestartReusesThePasswordAndStillRefusesConnectionsWithoutIt() throws Exception {
        try (TestServer server = TestServer.start(dataDir)) {
            assertThat(server.upload("iris", "iris.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
            String before = password();

            server.restart();

            assertThat(password()).isEqualTo(before);
            assertThat((Throwable) catchThrowableOfType(SQLException.class, () -> connect(postgresPort(), null))).isNotNull();
            assertPredicts(server);
        }
    }

    @Test
    void aDataDirectoryFromAnOlderServemlThatTrustedEveryoneIsUpgradedInPlace() throws Exception {
        Path embedded = dataDir.resolve("postgres");
        // What ServeML 7844346 made: zonky's initdb with trust, listening on loopback.
        try (EmbeddedPostgres old = EmbeddedPostgres.builder()
                .setDataDirectory(embedded.resolve("data"))
                .setOverrideWorkingDirectory(embedded.resolve("bin").toFile())
                .setCleanDataDirectory(false)
                .setRegisterShutdownHook(false)
                .setServerConfig("listen_addresses", "127.0.0.1")
                .start();
             Connection c = old.getPostgresDatabase().getConnection();
             Statement s = c.createStatement()) {
            // Not in public, which Flyway wants to find empty on a new database.
            s.execute("create schema before_upgrade");
            s.execute("create table before_upgrade.kept (answer integer)");
            s.execute("insert into before_upgrade.kept values (42)");
        }

        try (TestServer server = TestServer.start(dataDir)) {
            int port = postgresPort();
            assertThat((Throwable) catchThrowableOfType(SQLException.class, () -> connect(port, null))).isNotNull();
            try (Connection c = connect(port, password()); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("select answer from before_upgrade.kept")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(42);
            }
            assertThat(Files.readAllLines(embedded.resolve("data/pg_hba.conf")))
                    .filteredOn(line -> !line.isBlank() && !line.startsWith("#"))
                    .allSatisfy(line -> assertThat(line).endsWith("scram-sha-256"));
            assertThat(server.upload("iris", "iris.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
            assertPredicts(server);

            server.restart();

            assertThat((Throwable) catchThrowableOfType(SQLException.class, () -> connect(postgresPort(), null))).isNotNull();
            assertPredicts(server);
        }
    }

    private static void assertPredicts(TestServer server) {
        var answer = json(server.postJson("/api/v1/models/iris/predict", "{\"features\": [6.7, 3.0, 5.2, 2.3]}"));
        assertThat(answer.get("predictions").get(0).get("label").asLong()).isEqualTo(2);
    }

    /** The port the running postmaster wrote into its postmaster.pid (fourth line). */
    private int postgresPort() throws Exception {
        List<String> lines = Files.readAllLines(dataDir.resolve("postgres/data/postmaster.pid"));
        return Integer.parseInt(lines.get(3).trim());
    }

    private String password() throws Exception {
        return Files.readString(dataDir.resolve("postgres/password")).trim();
    }

    private static Connection connect(int port, String password) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "postgres");
        if (password != null) {
            props.setProperty("password", password);
        }
        props.setProperty("connectTimeout", "5");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", props);
    }
}
