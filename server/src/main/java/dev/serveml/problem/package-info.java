/**
 * The one catalogue of problem types ({@link dev.serveml.problem.ProblemType}) and the exception
 * services throw to report one. The HTTP layer turns them into RFC 9457 answers; nothing here
 * knows about HTTP beyond the status number each type carries.
 */
package dev.serveml.problem;
