package dev.serveml.monitor;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * Told of every prediction the one way in answers or refuses, on the thread that completed it (an
 * event loop, an inference thread): it must never block, and should hand anything slow to a queue
 * of its own. What it throws is logged and dropped, never the caller's failure.
 */
@FunctionalInterface
public interface PredictionObserver {
    PredictionObserver NONE = o -> {
    };

    void observe(Observation observation);

    /** One observer that tells each of these in turn; one that throws does not stop the others. */
    static PredictionObserver all(List<PredictionObserver> observers) {
        List<PredictionObserver> copy = List.copyOf(observers);
        Logger log = LoggerFactory.getLogger(PredictionObserver.class);
        return o -> {
            for (PredictionObserver observer : copy) {
                try {
                    observer.observe(o);
                } catch (RuntimeException e) {
                    log.warn("a prediction observer failed on request {}: {}", o.requestId(), e.toString());
                }
            }
        };
    }
}
