package dev.serveml.config;

import java.util.Optional;

/**
 * The metadata database.
 *
 * @param url      JDBC URL of an external PostgreSQL; empty means embedded PostgreSQL under the data dir
 * @param user     user for the external database
 * @param password password for the external database (never printed)
 * @param poolSize maximum JDBC connections
 * @param connectTimeout longest a request waits for a connection before it is told the database is
 *                       unavailable (503); readiness checks with it too
 * @param socketTimeout  longest one statement may wait on the database's answer before its
 *                       connection is dropped and the request told the database is unavailable
 * @param embeddedBinaries where the embedded PostgreSQL's programs are unpacked; empty for the data
 *                         directory's own {@code postgres/bin}
 */
public record DatabaseConfig(Optional<String> url, String user, String password, int poolSize,
                             java.time.Duration connectTimeout, java.time.Duration socketTimeout,
                             Optional<java.nio.file.Path> embeddedBinaries) {
    public boolean embedded() {
        return url.isEmpty();
    }

    /** A JDBC URL with any password parameter or user-info secret replaced by {@code ***}. */
    public static String redact(String jdbcUrl) {
        return jdbcUrl.replaceAll("(?i)(password=)[^&;]*", "$1***").replaceAll("(//[^/@:]+:)[^/@]*@", "$1***@");
    }

    @Override
    public String toString() {
        return "DatabaseConfig[url=" + url.map(DatabaseConfig::redact).orElse("(embedded)") + ", user=" + user
                + ", password=" + (password.isEmpty() ? "" : "***") + ", poolSize=" + poolSize + ", connectTimeout="
                + connectTimeout + ", socketTimeout=" + socketTimeout + ", embeddedBinaries="
                + embeddedBinaries.map(Object::toString).orElse("(data dir)") + "]";
    }
}
