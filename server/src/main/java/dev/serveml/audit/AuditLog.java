package dev.serveml.audit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Records audited events off the caller's thread, in order, and drains them before closing so
 * none is lost at shutdown. Reading is blocking. Thread-safe.
 */
public final class AuditLog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

    private final AuditStore store;
    private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "serveml-audit");
        t.setDaemon(true);
        return t;
    });

    public AuditLog(AuditStore store) {
        this.store = store;
    }

    /**
     * Records one event.
     *
     * @param actorId 0 when the actor is unknown (a failed login for a missing user)
     * @param target  what was acted on, as {@code kind:name} ({@code model:iris}, {@code api_key:Ab3...})
     */
    public void record(long actorId, String actor, String ip, String action, String target, boolean success,
                       Map<String, Object> detail) {
        AuditEntry entry = new AuditEntry(0, null, actorId, actor, ip, action, target, success ? "success" : "failure",
                detail);
        writer.execute(() -> {
            try {
                store.insert(entry);
            } catch (RuntimeException e) {
                log.error("could not write audit entry {} {} by {}: {}", action, target, actor, e.toString());
            }
        });
    }

    public List<AuditEntry> query(AuditQuery query) {
        return store.query(query);
    }

    /** Waits for every recorded event to be written (tests read right after acting). */
    public void flush() {
        try {
            writer.submit(() -> { }).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("audit writer did not drain", e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        writer.shutdown();
        writer.awaitTermination(10, TimeUnit.SECONDS);
    }
}
