package dev.serveml.auth;

import java.time.Instant;
import java.util.UUID;

/** A stored refresh token (by hash) in its rotation family. */
public record RefreshToken(long id, long userId, UUID family, Instant expiresAt, Instant usedAt, Instant revokedAt) {
}
