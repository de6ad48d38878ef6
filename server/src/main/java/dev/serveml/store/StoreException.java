package dev.serveml.store;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.net.ConnectException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;

/** The database failed; the HTTP layer answers 500 with a generic detail and logs this once. */
public final class StoreException extends RuntimeException {
    private StoreException(String operation, Throwable cause) {
        super("database operation failed: " + operation, cause);
    }

    /**
     * What a failed database operation becomes: when the database cannot be reached (no connection
     * within the pool's timeout, a connection lost, the server shutting down), a retryable 503
     * {@code database-unavailable} that the HTTP layer answers as it is and that the credential
     * cache recognises; otherwise a {@link StoreException} (a 500, logged once).
     */
    public static RuntimeException of(String operation, Throwable cause) {
        if (unreachable(cause)) {
            return new ProblemException(ProblemType.DATABASE_UNAVAILABLE, "the database cannot be reached right now; "
                    + "nothing was changed, retry shortly", cause).retryAfter(2);
        }
        return new StoreException(operation, cause);
    }

    /** Connection failures by their JDBC class or SQLSTATE (08: connection exception; 57P0x: shutting down). */
    static boolean unreachable(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLTransientConnectionException || t instanceof SQLNonTransientConnectionException
                    || t instanceof ConnectException) {
                return true;
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")
                        || state.equals("57P03")) {
                    return true;
                }
            }
        }
        return false;
    }
}
