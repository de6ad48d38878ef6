package dev.serveml.config;

import java.time.Duration;
import java.util.List;

/**
 * Identity, access and rate limits.
 *
 * @param enabled            false runs single-user without credentials (SERVEML_AUTH=off)
 * @param jwtSecret          HMAC secret for access tokens; empty: generated once and kept under the data dir
 * @param accessTokenTtl     life of an access token (JWT)
 * @param refreshTokenTtl    life of a refresh token
 * @param adminPassword      the first admin's password; empty: generated and printed once
 * @param registrationOpen   whether anyone may register
 * @param bcryptCost         bcrypt work factor for passwords
 * @param minPasswordLength  shortest password accepted
 * @param rateLimitPerMinute default requests per minute for a user or API key
 * @param anonymousPerMinute requests per minute for an anonymous caller, by IP
 * @param corsOrigins        origins allowed by CORS; empty allows none
 * @param corsMethods        methods allowed by CORS
 * @param corsHeaders        request headers allowed by CORS
 * @param signInPerMinute    register, login and refresh requests per minute from one client address
 *                           (an IPv6 /64 counts as one address)
 * @param bcryptConcurrency  password hashes computed at once; twice as many may wait, more are
 *                           refused with 503 so a flood of sign-ins cannot take the worker pool
 * @param credentialCacheTtl how long a verified key or account is trusted before it is read again
 *                           (a revocation on another replica takes effect within it)
 * @param outageGrace        while the database cannot be reached, verified credentials are trusted
 *                           this much past {@code credentialCacheTtl}, so loaded models keep serving;
 *                           revocations made on this server still apply at once
 */
public record AuthConfig(boolean enabled, String jwtSecret, Duration accessTokenTtl, Duration refreshTokenTtl,
                         String adminPassword, boolean registrationOpen, int bcryptCost, int minPasswordLength,
                         int rateLimitPerMinute, int anonymousPerMinute,
                         List<String> corsOrigins, List<String> corsMethods, List<String> corsHeaders,
                         int signInPerMinute, int bcryptConcurrency, Duration credentialCacheTtl,
                         Duration outageGrace) {
    @Override
    public String toString() {
        return "AuthConfig[enabled=" + enabled + ", jwtSecret=" + (jwtSecret.isEmpty() ? "(generated)" : "***")
                + ", accessTokenTtl=" + accessTokenTtl + ", refreshTokenTtl=" + refreshTokenTtl + ", adminPassword="
                + (adminPassword.isEmpty() ? "(generated)" : "***") + ", registrationOpen=" + registrationOpen
                + ", bcryptCost=" + bcryptCost + ", rateLimitPerMinute=" + rateLimitPerMinute + ", anonymousPerMinute="
                + anonymousPerMinute + ", corsOrigins=" + corsOrigins + ", signInPerMinute=" + signInPerMinute + ", bcryptConcurrency="
                + bcryptConcurrency + "]";
    }
}
