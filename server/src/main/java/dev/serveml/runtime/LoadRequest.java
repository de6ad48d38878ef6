package dev.serveml.runtime;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * What a runtime needs to load one model.
 *
 * @param artifact     the model file or archive, read-only
 * @param format       the format the runtime detected at upload
 * @param fileName     the name the client gave the file (its extension can matter to the framework)
 * @param model        the model's name (metrics are tagged with it)
 * @param label        how logs name the model ("iris v3")
 * @param requirements a requirements.txt sent beside the model, if any
 * @param resources    what the loaded model may use (instances, memory, environment)
 */
public record LoadRequest(Path artifact, String format, String fileName, String model, String label, Optional<String> requirements,
                          Resources resources) {
    public LoadRequest {
        Objects.requireNonNull(artifact);
        Objects.requireNonNull(format);
        Objects.requireNonNull(fileName);
        Objects.requireNonNull(model);
        Objects.requireNonNull(label);
        Objects.requireNonNull(requirements);
        Objects.requireNonNull(resources);
    }
}
