/**
 * The response cache: answers to identical requests to the same version, kept in process
 * (Caffeine, size- and TTL-bounded) and, when Redis is configured, shared through Redis in a
 * compact binary form. A cache problem never fails a request.
 */
package dev.serveml.cache;
