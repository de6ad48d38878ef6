package dev.serveml.problem;

/**
 * Every problem a client can be told about: a stable slug (the {@code code} field and the last
 * segment of the {@code type} URI), the HTTP status, a short title, and whether retrying the same
 * request later may succeed. Slugs are part of the API: never rename one.
 */
public enum ProblemType {
    MALFORMED_JSON("malformed-json", 400, "Malformed JSON", false),
    INVALID_REQUEST("invalid-request", 400, "Invalid request", false),
    INVALID_INPUT("invalid-input", 422, "Invalid model input", false),
    MISSING_INPUT("missing-input", 422, "Missing model input", false),
    UNKNOWN_INPUT("unknown-input", 422, "Unknown model input", false),
    SHAPE_MISMATCH("shape-mismatch", 422, "Input shape does not match the model", false),
    DATATYPE_MISMATCH("datatype-mismatch", 422, "Input element type does not match the model", false),
    UNKNOWN_OUTPUT("unknown-output", 422, "Unknown model output", false),
    EMPTY_UPLOAD("empty-upload", 400, "Empty upload", false),
    MISSING_FILE("missing-file", 400, "No model file in the upload", false),
    INVALID_MODEL("invalid-model", 422, "The uploaded file is not a usable model", false),
    UNSUPPORTED_MODEL_FORMAT("unsupported-model-format", 422, "Unsupported model format", false),
    INVALID_NAME("invalid-name", 422, "Invalid name", false),
    INVALID_STATE_CHANGE("invalid-state-change", 422, "Invalid lifecycle state", false),
    UPLOAD_TOO_LARGE("payload-too-large", 413, "Payload too large", false),
    UNSUPPORTED_MEDIA_TYPE("unsupported-media-type", 415, "Unsupported media type", false),
    NOT_ACCEPTABLE("not-acceptable", 406, "Not acceptable", false),
    ROUTE_NOT_FOUND("not-found", 404, "Not found", false),
    METHOD_NOT_ALLOWED("method-not-allowed", 405, "Method not allowed", false),
    MODEL_NOT_FOUND("model-not-found", 404, "Model not found", false),
    VERSION_NOT_FOUND("version-not-found", 404, "Model version not found", false),
    NO_ACTIVE_VERSION("no-active-version", 409, "Model has no servable version", false),
    VERSION_NOT_SERVABLE("version-not-servable", 409, "Model version is not servable", false),
    MODEL_DELETED("model-deleted", 409, "Model is deleted", false),
    NOT_DELETED("not-deleted", 409, "Nothing to restore", false),
    NAME_TAKEN("name-taken", 409, "Name not available", false),
    INVALID_DEPLOYMENT("invalid-deployment", 422, "Invalid deployment", false),
    DEPLOYMENT_NOT_FOUND("deployment-not-found", 404, "Deployment not found", false),
    NOTHING_TO_ROLL_BACK("nothing-to-roll-back", 409, "No previous traffic policy", false),
    NOTHING_TO_PROMOTE("nothing-to-promote", 409, "No canary or shadow version to promote", false),
    AUTHENTICATION_REQUIRED("authentication-required", 401, "Authentication required", false),
    INVALID_TOKEN("invalid-token", 401, "Invalid access token", false),
    TOKEN_EXPIRED("token-expired", 401, "Access token expired", false),
    INVALID_API_KEY("invalid-api-key", 401, "Invalid API key", false),
    INVALID_CREDENTIALS("invalid-credentials", 401, "Wrong username or password", false),
    INVALID_REFRESH_TOKEN("invalid-refresh-token", 401, "Invalid refresh token", false),
    INSUFFICIENT_SCOPE("insufficient-scope", 403, "Insufficient scope", false),
    REGISTRATION_CLOSED("registration-closed", 403, "Registration is closed", false),
    WEAK_PASSWORD("weak-password", 422, "Password too weak", false),
    LOGIN_THROTTLED("login-throttled", 429, "Too many failed logins", true),
    RATE_LIMITED("rate-limited", 429, "Rate limit exceeded", true),
    QUOTA_EXCEEDED("quota-exceeded", 429, "Daily quota exceeded", true),
    ENVIRONMENT_FAILED("environment-failed", 422, "The model's Python environment could not be built", false),
    INFERENCE_FAILED("inference-failed", 500, "Inference failed", false),
    MODEL_ERROR("model-error", 500, "The model raised an error", false),
    INFERENCE_TIMEOUT("inference-timeout", 504, "Inference timed out", true),
    MODEL_UNAVAILABLE("model-unavailable", 503, "Model unavailable", true),
    SERVICE_UNAVAILABLE("service-unavailable", 503, "Service unavailable", true),
    QUEUE_FULL("queue-full", 503, "Too many requests waiting for this model", true),
    LIMIT_TOO_HIGH("limit-too-high", 422, "Limit above what this server allows", false),
    /** The model's answer is over the server's bounds (elements or encoded bytes); it is never built whole. */
    OUTPUT_TOO_LARGE("output-too-large", 500, "The model's answer is too large", false),
    DATABASE_UNAVAILABLE("database-unavailable", 503, "The database cannot be reached", true),
    TOO_MANY_UPLOADS("too-many-uploads", 429, "Too many uploads in progress", true),
    STORAGE_QUOTA_EXCEEDED("storage-quota-exceeded", 413, "Storage quota exceeded", false),
    STORAGE_FULL("storage-full", 507, "Insufficient storage", false),
    INVALID_REQUIREMENTS("invalid-requirements", 422, "The model's requirements name something pip may not install",
            false),
    /** A Hugging Face repository, revision or file the Hub does not have (or hides: private repos read as missing). */
    HUB_REPO_NOT_FOUND("hub-repo-not-found", 422, "Not found on the Hugging Face Hub", false),
    /** A gated or private repository asked for without a token that may read it. */
    HUB_AUTH_REQUIRED("hub-auth-required", 422, "The Hugging Face repository needs a token with access", false),
    /** A repository with weights but no ONNX export (or none for the variant asked). */
    HUB_NO_ONNX("hub-no-onnx", 422, "The Hugging Face repository has no usable ONNX export", false),
    /** Offline mode, or the Hub unreachable, and the revision is not in the local cache. */
    HUB_NOT_CACHED("hub-not-cached", 422, "Not in the local Hugging Face cache", false),
    /** The Hub (or its download host) answered something that cannot be trusted: a bad listing, a wrong hash. */
    HUB_BAD_ANSWER("hub-bad-answer", 502, "The Hugging Face Hub sent an unusable answer", false),
    HUB_UNAVAILABLE("hub-unavailable", 503, "The Hugging Face Hub cannot be reached", true),
    /** A Hub import's body (or its token header) that is not one: an unknown field, a source that is not hf://. */
    INVALID_IMPORT("invalid-import", 422, "Invalid Hugging Face import", false),
    INVALID_JOB("invalid-job", 422, "Invalid batch job", false),
    JOB_COLUMNS("job-columns", 422, "The file's columns do not match the model", false),
    JOB_NOT_FOUND("job-not-found", 404, "Job not found", false),
    FILE_NOT_FOUND("file-not-found", 404, "File not found", false),
    JOB_NOT_FINISHED("job-not-finished", 409, "The job has not finished", false),
    JOB_FINISHED("job-finished", 409, "The job has already finished", false),
    FILE_IN_USE("file-in-use", 409, "The file is the input of a job still running", false),
    BATCH_NOT_FOUND("batch-not-found", 404, "Batch not found", false),
    INTERNAL("internal-error", 500, "Internal server error", false);

    private static final String TYPE_BASE = "https://serveml.dev/problems/";

    private final String code;
    private final int status;
    private final String title;
    private final boolean retryable;

    ProblemType(String code, int status, String title, boolean retryable) {
        this.code = code;
        this.status = status;
        this.title = title;
        this.retryable = retryable;
    }

    public String code() {
        return code;
    }

    public int status() {
        return status;
    }

    public String title() {
        return title;
    }

    public boolean retryable() {
        return retryable;
    }

    /** The type of a code kept from an earlier answer (a stored import's or job's problem), if it still exists. */
    public static java.util.Optional<ProblemType> byCode(String code) {
        return java.util.Arrays.stream(values()).filter(t -> t.code.equals(code)).findFirst();
    }

    /** The {@code type} URI of RFC 9457: stable, one per slug. */
    public String typeUri() {
        return TYPE_BASE + code;
    }
}
