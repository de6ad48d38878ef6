/**
 * What each API key spent on each model per UTC day (requests, prompt and completion tokens):
 * counted in memory as answers leave, written to PostgreSQL in batches off the request path
 * ({@link dev.serveml.usage.UsageLog}), read for the usage analytics.
 */
package dev.serveml.usage;
