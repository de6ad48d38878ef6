package dev.serveml.auth;

import dev.serveml.audit.AuditLog;
import dev.serveml.config.AuthConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.InstantSource;
import java.util.concurrent.Executor;

/**
 * Builds the identity services for one server: the JWT secret (configured, or generated once and
 * kept under the data dir so tokens survive restarts), the authenticator and the account service,
 * and the first admin on an empty database.
 */
public final class Identity {
    private static final Logger log = LoggerFactory.getLogger(Identity.class);

    private final Authenticator authenticator;
    private final AuthService service;

    private Identity(Authenticator authenticator, AuthService service) {
        this.authenticator = authenticator;
        this.service = service;
    }

    /** Blocking (may create the admin). */
    public static Identity start(AuthConfig config, IdentityStore store, Path secretsDir, InstantSource clock,
                                 Executor blocking, AuditLog audit) {
        TokenCodec tokens = new TokenCodec(secret(config, secretsDir), config.accessTokenTtl(), clock);
        Authenticator authenticator = new Authenticator(store, tokens, clock, blocking, config.enabled(),
                config.credentialCacheTtl(), config.outageGrace());
        AuthService service = new AuthService(store, config, tokens, clock, audit, authenticator);
        // The admin exists even with authentication off: it owns what is uploaded meanwhile.
        service.bootstrapAdmin();
        if (config.enabled()) {
            log.info("authentication is ON: requests need an access token or API key (registration {})",
                    config.registrationOpen() ? "open" : "closed");
        } else {
            log.warn("authentication is OFF (SERVEML_AUTH=off): every caller acts as the admin; use only on a "
                    + "single-user machine");
        }
        return new Identity(authenticator, service);
    }

    private static byte[] secret(AuthConfig config, Path dir) {
        if (!config.jwtSecret().isEmpty()) {
            return config.jwtSecret().getBytes(StandardCharsets.UTF_8);
        }
        Path file = dir.resolve("jwt.key");
        try {
            if (!Files.exists(file)) {
                Files.createDirectories(dir);
                Path temp = Files.createTempFile(dir, "jwt", ".tmp",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.writeString(temp, Secrets.token(48));
                Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            return Files.readString(file).trim().getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the JWT secret in " + dir, e);
        }
    }

    public Authenticator authenticator() {
        return authenticator;
    }

    public AuthService service() {
        return service;
    }
}
