package dev.serveml.imports;

import dev.serveml.hub.RepoId;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a caller asks to import (the token travels beside it, never inside a record that is printed).
 *
 * @param repo      the repository
 * @param revision  branch, tag or commit ({@code main} when none was given)
 * @param variant   the ONNX variant, empty for {@code fp32}
 * @param task      the task to serve it as, overriding the repository's own; one of {@link #TASKS}
 */
public record ImportRequest(RepoId repo, String revision, Optional<String> variant, Optional<String> task) {
    /** The tasks a text model can be served as (issue 14's contract 2), in the order documented. */
    public static final List<String> TASKS = List.of("text-classification", "token-classification",
            "feature-extraction", "fill-mask", "question-answering", "zero-shot-classification", "text-ranking");

    public ImportRequest {
        Objects.requireNonNull(repo);
        Objects.requireNonNull(revision);
        Objects.requireNonNull(variant);
        Objects.requireNonNull(task);
        task.ifPresent(t -> {
            if (!TASKS.contains(t)) {
                throw new IllegalArgumentException("unknown task");
            }
        });
    }

    /**
     * The same problem about a field of the import ({@code /source}, {@code /revision}, {@code /variant})
     * as {@code invalid-import} (422); other problems as they are.
     */
    public static ProblemException invalid(ProblemException e) {
        if (e.type() != ProblemType.INVALID_REQUEST || e.errors().isEmpty()) {
            return e;
        }
        return new ProblemException(ProblemType.INVALID_IMPORT, e.detail(), e.errors());
    }

    /** {@code hf://org/name}. */
    public String source() {
        return "hf://" + repo.id();
    }
}
