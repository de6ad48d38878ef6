package dev.serveml.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Date;
import java.util.UUID;

/**
 * Access tokens: HS256 JWTs with the user's id, name and role. Verification accepts HS256 only
 * (never {@code alg: none} or another algorithm), checks the signature, issuer and expiry with a
 * 30-second skew allowance.
 */
final class TokenCodec {
    private static final String ISSUER = "serveml";
    private static final Duration SKEW = Duration.ofSeconds(30);

    /** What a valid token says. */
    record Claims(long userId, String username, Role role, Instant expiresAt) {
    }

    private final MACSigner signer;
    private final MACVerifier verifier;
    private final InstantSource clock;
    private final Duration ttl;

    TokenCodec(byte[] secret, Duration ttl, InstantSource clock) {
        try {
            this.signer = new MACSigner(secret);
            this.verifier = new MACVerifier(secret);
        } catch (JOSEException e) {
            throw new IllegalArgumentException("the JWT secret must be at least 256 bits", e);
        }
        this.ttl = ttl;
        this.clock = clock;
    }

    Duration ttl() {
        return ttl;
    }

    String issue(User user) {
        Instant now = clock.instant();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(ISSUER).subject(Long.toString(user.id()))
                .claim("name", user.username()).claim("role", user.role().value())
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plus(ttl)))
                .jwtID(UUID.randomUUID().toString()).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        try {
            jwt.sign(signer);
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign a token", e);
        }
        return jwt.serialize();
    }

    Claims verify(String token) {
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(token);
        } catch (ParseException e) {
            throw invalid("the access token is not a well-formed signed JWT");
        }
        if (!JWSAlgorithm.HS256.equals(jwt.getHeader().getAlgorithm())) {
            throw invalid("the access token's algorithm " + jwt.getHeader().getAlgorithm() + " is not accepted");
        }
        try {
            if (!jwt.verify(verifier)) {
                throw invalid("the access token's signature does not verify");
            }
            JWTClaimsSet claims = jwt.getJWTClaimsSet();
            if (!ISSUER.equals(claims.getIssuer()) || claims.getExpirationTime() == null || claims.getSubject() == null) {
                throw invalid("the access token lacks ServeML's claims");
            }
            Instant expires = claims.getExpirationTime().toInstant();
            if (clock.instant().isAfter(expires.plus(SKEW))) {
                throw new ProblemException(ProblemType.TOKEN_EXPIRED, "the access token expired at " + expires
                        + "; get a new one from POST /api/v1/auth/refresh");
            }
            return new Claims(Long.parseLong(claims.getSubject()), claims.getStringClaim("name"),
                    Role.parse(claims.getStringClaim("role")), expires);
        } catch (JOSEException | ParseException | IllegalArgumentException e) {
            throw invalid("the access token could not be verified");
        }
    }

    private static ProblemException invalid(String detail) {
        return new ProblemException(ProblemType.INVALID_TOKEN, detail);
    }
}
