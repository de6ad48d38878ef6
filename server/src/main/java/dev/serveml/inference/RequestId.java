package dev.serveml.inference;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/** Request ids for predictions that come with none. Stateless. */
public final class RequestId {
    private RequestId() {
    }

    /**
     * A random (version 4) UUID, as {@link UUID#randomUUID} makes, from {@link ThreadLocalRandom}:
     * randomUUID draws on one SecureRandom that every event loop shares, a lock and a read of the
     * kernel's pool per request (3% of the event loops' time under load). An id only labels logs,
     * problem reports and logged predictions; it is no secret (a client may name its own) and only
     * needs to be unique.
     */
    public static String random() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long high = (random.nextLong() & ~0xF000L) | 0x4000L; // version 4
        long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L; // the IETF variant
        return new UUID(high, low).toString();
    }
}
