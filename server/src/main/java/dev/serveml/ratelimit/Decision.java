package dev.serveml.ratelimit;

/**
 * The outcome of taking one token, with what the RateLimit-* headers report.
 *
 * @param resetSeconds      seconds until the bucket is full again
 * @param retryAfterSeconds seconds until a token is available (0 when allowed)
 */
public record Decision(boolean allowed, long limit, long remaining, long resetSeconds, long retryAfterSeconds) {
}
