package dev.serveml.runtime.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * {@code serveml.json}, optional in a repository archive (a Hub import writes it at the zip's
 * root): {@code {"task": "...", "pipeline_tag": "...", "source": "hf://org/name", "commit": "..."}}.
 * Only {@code task} (the user's override) and {@code pipeline_tag} (the Hub's tag) are read here.
 *
 * @param task        the task asked for, or null
 * @param pipelineTag the Hub's pipeline tag, or null
 */
record ServemlJson(String task, String pipelineTag) {
    static final String FILE = "serveml.json";
    /** A few fields: anything larger is not ours. */
    static final long MAX_BYTES = 64 << 10;
    static final ServemlJson NONE = new ServemlJson(null, null);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** serveml.json beside config.json, else at the archive's root; {@link #NONE} where there is none. */
    static ServemlJson read(Path repo, Path root) {
        for (Path dir : repo.equals(root) ? java.util.List.of(repo) : java.util.List.of(repo, root)) {
            Path file = dir.resolve(FILE);
            if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                return parse(file);
            }
        }
        return NONE;
    }

    private static ServemlJson parse(Path file) {
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw new ProblemException(ProblemType.INVALID_MODEL, FILE + " is not a regular file");
            }
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new ProblemException(ProblemType.INVALID_MODEL, FILE + " is " + size + " bytes; ServeML reads "
                        + "at most " + MAX_BYTES + " bytes of it");
            }
            JsonNode node;
            try {
                node = JSON.readTree(Files.readAllBytes(file));
            } catch (IOException e) {
                throw new ProblemException(ProblemType.INVALID_MODEL, FILE + " is not valid JSON");
            }
            if (node == null || !node.isObject()) {
                throw new ProblemException(ProblemType.INVALID_MODEL, FILE + " is not a JSON object");
            }
            return new ServemlJson(text(node, "task"), text(node, "pipeline_tag"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + FILE, e);
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new ProblemException(ProblemType.INVALID_MODEL, FILE + "'s \"" + field + "\" is not a string");
        }
        return value.asText();
    }
}
