package dev.serveml.jobs;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

/**
 * Why a job failed, or why one of its rows did: a problem's code, status, title and detail (a
 * detail never holds a path, a class name or a token; it is what the client would have been told).
 */
public record JobProblem(String code, int status, String title, String detail) {
    public static JobProblem of(ProblemException e) {
        return new JobProblem(e.type().code(), e.type().status(), e.type().title(), e.detail());
    }

    public static JobProblem of(ProblemType type, String detail) {
        return new JobProblem(type.code(), type.status(), type.title(), detail);
    }

    /** The problem type's URI, from its code ({@code internal-error}'s for a code no longer known). */
    public String typeUri() {
        return ProblemType.byCode(code).orElse(ProblemType.INTERNAL).typeUri();
    }
}
