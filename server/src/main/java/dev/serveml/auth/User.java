package dev.serveml.auth;

import java.time.Instant;

/** An account. The password hash never leaves the auth package's service. */
public record User(long id, String username, String passwordHash, Role role, Instant createdAt, boolean deleted) {
}
