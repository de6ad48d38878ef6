package dev.serveml.store;

/** The database failed; the HTTP layer answers 500 with a generic detail and logs this once. */
public final class StoreException extends RuntimeException {
    public StoreException(String operation, Throwable cause) {
        super("database operation failed: " + operation, cause);
    }
}
