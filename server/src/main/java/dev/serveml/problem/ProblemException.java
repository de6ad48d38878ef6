package dev.serveml.problem;

import java.util.List;
import java.util.Objects;

/**
 * A failure the client caused or can act on. The detail is shown to the client verbatim, so it
 * must never carry a class name, a stack trace, SQL or a file path.
 */
public final class ProblemException extends RuntimeException {

    /** One invalid field: a JSON pointer into the request and what is wrong there. */
    public record FieldError(String pointer, String message) {
        public FieldError {
            Objects.requireNonNull(pointer);
            Objects.requireNonNull(message);
        }
    }

    private final ProblemType type;
    private final List<FieldError> errors;
    private long retryAfterSeconds = -1;

    public ProblemException(ProblemType type, String detail) {
        this(type, detail, List.of(), null);
    }

    public ProblemException(ProblemType type, String detail, List<FieldError> errors) {
        this(type, detail, errors, null);
    }

    public ProblemException(ProblemType type, String detail, Throwable cause) {
        this(type, detail, List.of(), cause);
    }

    private ProblemException(ProblemType type, String detail, List<FieldError> errors, Throwable cause) {
        super(detail, cause, false, false);
        this.type = Objects.requireNonNull(type);
        this.errors = List.copyOf(errors);
    }

    public ProblemType type() {
        return type;
    }

    public String detail() {
        return getMessage();
    }

    public List<FieldError> errors() {
        return errors;
    }

    /** Seconds a client should wait before retrying, or -1 for the default. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    /** Sets when a retry may succeed (rate limits know it exactly). */
    public ProblemException retryAfter(long seconds) {
        this.retryAfterSeconds = Math.max(1, seconds);
        return this;
    }

    /** Shorthand for an {@code invalid-input}-family problem about one field. */
    public static ProblemException field(ProblemType type, String pointer, String message) {
        return new ProblemException(type, message, List.of(new FieldError(pointer, message)));
    }
}
