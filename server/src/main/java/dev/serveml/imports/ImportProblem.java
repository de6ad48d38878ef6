package dev.serveml.imports;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.util.Objects;

/**
 * Why an import failed, as the problem+json the client would have got had it waited: its stable
 * code, status, title and the detail (which never holds a path, a class name or a token).
 */
public record ImportProblem(String code, int status, String title, String detail) {
    public ImportProblem {
        Objects.requireNonNull(code);
        Objects.requireNonNull(title);
        Objects.requireNonNull(detail);
    }

    static ImportProblem of(ProblemException e) {
        return new ImportProblem(e.type().code(), e.type().status(), e.type().title(), e.detail());
    }

    static ImportProblem of(ProblemType type, String detail) {
        return new ImportProblem(type.code(), type.status(), type.title(), detail);
    }
}
