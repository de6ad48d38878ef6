package dev.serveml.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Principal;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Prediction;
import dev.serveml.problem.ProblemException;

import java.util.Map;

/**
 * The codecs of a job whose rows are whole requests (a {@link JobSpec.Lines} job: OpenAI's batch
 * lines {@code {custom_id, method, url, body}}): each line decoded into the call its route would make,
 * and its answer or failure written as the route's protocol writes it. Owned here, implemented where
 * the routes' codecs live ({@code http}), so that a line answers what its route answers and the jobs
 * never re-implement a route. Thread-safe; called on the job workers.
 */
public interface RequestLines {
    /** A line decoded: the call to make through the one way in, and how its answer is written. */
    interface Call {
        /** The call, in the online lane (the runner moves it to the batch lane and sets its deadline). */
        PredictRequest request();

        /**
         * The output file's line for the model's answer: one JSON text, no line break.
         *
         * @throws ProblemException the answer is not one the route could give (then the line fails)
         */
        String answered(Prediction prediction);
    }

    /**
     * @param jobId  the job, with {@code line} a stable id of the line (the same on every try)
     * @param fields the line's fields as read
     * @throws ProblemException the line is at fault: not a request, a route not served, a bad body
     */
    Call decode(Principal caller, String jobId, long line, Map<String, JsonNode> fields);

    /**
     * The error file's line for a line that failed: unreadable (then {@code fields} is empty),
     * refused by {@link #decode}, or refused by the model. One JSON text, no line break.
     */
    String failed(String jobId, long line, Map<String, JsonNode> fields, ProblemException problem);
}
