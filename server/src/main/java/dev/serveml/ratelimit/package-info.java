/**
 * Token buckets per API key, per user and per anonymous address, kept in process
 * ({@link dev.serveml.ratelimit.LocalRateLimiter}) or in Redis so every replica shares them
 * ({@link dev.serveml.ratelimit.RedisRateLimiter}, which falls back to local buckets while Redis
 * is unreachable).
 */
package dev.serveml.ratelimit;
