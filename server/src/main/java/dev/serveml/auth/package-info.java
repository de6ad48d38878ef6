/**
 * Who is calling and what they may do: users with bcrypt passwords, short-lived JWT access tokens
 * and rotating refresh-token families, scoped API keys stored as hashes, the
 * {@link dev.serveml.auth.Principal} every request runs as, and the ownership rule that makes
 * someone else's resource indistinguishable from a missing one.
 */
package dev.serveml.auth;
