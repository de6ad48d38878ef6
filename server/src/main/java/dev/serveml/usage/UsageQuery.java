package dev.serveml.usage;

import java.time.LocalDate;

/**
 * Which usage rows to read, newest day first.
 *
 * @param userId only this user's (0: everyone's, for administrators)
 * @param keyId  only this API key's, or null for all (0: session tokens)
 * @param model  only this model's, or null
 * @param from   the first UTC day, inclusive
 * @param to     the last UTC day, inclusive
 * @param limit  at most this many rows, 1-10000
 */
public record UsageQuery(long userId, Long keyId, String model, LocalDate from, LocalDate to, int limit) {
    public UsageQuery {
        if (limit < 1 || limit > 10_000 || from.isAfter(to)) {
            throw new IllegalArgumentException("a usage query needs 1-10000 rows and from <= to");
        }
    }
}
