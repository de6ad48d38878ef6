package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.jobs.Job;
import dev.serveml.jobs.JobFile;
import dev.serveml.jobs.JobSpec;
import dev.serveml.jobs.JobStatus;
import dev.serveml.jobs.Jobs;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAI's Batch API on the jobs engine: {@code /v1/files} (purpose {@code batch}) and
 * {@code /v1/batches}. A batch is a job of request lines ({@link JobSpec.Lines}), so it has the jobs'
 * durability (chunks, leases, a commit per chunk, resume) and its lines go through the one way in,
 * answered by their routes' codecs ({@link OpenAiBatchLines}). The batch's output and error files are
 * its job's result and errors, named {@code file-<batch id>-output} and {@code -errors}. A caller sees
 * only its own files and batches (another's: 404); errors are OpenAI's {@code {"error": {...}}}.
 */
final class OpenAiBatchHandler {
    private static final Pattern DERIVED = Pattern.compile("file-(batch_[0-9a-f]{32})-(output|errors)");
    private static final int MAX_BODY = 64 * 1024;
    private static final int MAX_PAGE = 100;
    private static final int MAX_METADATA = 16;
    private static final String WINDOW = "24h";
    private static final Duration WINDOW_LENGTH = Duration.ofHours(24);

    private final Jobs jobs;
    private final UploadReceiver uploads;
    private final Responses responses;

    OpenAiBatchHandler(Jobs jobs, UploadReceiver uploads, Responses responses) {
        this.jobs = jobs;
        this.uploads = uploads;
        this.responses = responses;
    }

    void register(HttpApi api) {
        Access predict = Access.scope(Scope.PREDICT);
        api.streamingRoute(HttpMethod.POST, "/v1/files", predict, this::upload);
        api.route(HttpMethod.GET, "/v1/files", predict, this::listFiles);
        api.route(HttpMethod.GET, "/v1/files/:id", predict, this::getFile);
        api.route(HttpMethod.GET, "/v1/files/:id/content", predict, this::content);
        api.route(HttpMethod.DELETE, "/v1/files/:id", predict, this::deleteFile);
        api.jsonRoute(HttpMethod.POST, "/v1/batches", predict, this::create);
        api.route(HttpMethod.GET, "/v1/batches", predict, this::list);
        api.route(HttpMethod.GET, "/v1/batches/:id", predict, this::get);
        api.route(HttpMethod.POST, "/v1/batches/:id/cancel", predict, this::cancel);
    }

    // ---- files ----

    /** A file as OpenAI shows it: uploaded, or a batch's output or errors. */
    private record FileObject(String id, long bytes, Instant createdAt, String filename, String purpose,
                              Instant expiresAt) {
        static FileObject of(JobFile f) {
            return new FileObject(f.id(), f.bytes(), f.createdAt(), f.filename(), f.purpose(), f.expiresAt());
        }

        void write(JsonGenerator g) throws IOException {
            g.writeStartObject();
            g.writeStringField("id", id);
            g.writeStringField("object", "file");
            g.writeNumberField("bytes", bytes);
            g.writeNumberField("created_at", createdAt.getEpochSecond());
            seconds(g, "expires_at", expiresAt);
            g.writeStringField("filename", filename);
            g.writeStringField("purpose", purpose);
            g.writeStringField("status", "processed");
            g.writeNullField("status_details");
            g.writeEndObject();
        }
    }

    private void upload(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        UploadReceiver.Slot slot = uploads.admit(caller.userId());
        uploads.receive(ctx.request())
                .compose(staged -> {
                    String purpose = UploadReceiver.formField(ctx.request(), "purpose");
                    if (!Jobs.PURPOSE_BATCH.equals(purpose)) {
                        deleteQuietly(staged.file());
                        return Future.failedFuture(ProblemException.field(ProblemType.INVALID_REQUEST, "/purpose",
                                "'purpose' must be 'batch': this server keeps files for batches only"));
                    }
                    return ctx.vertx().executeBlocking(() -> jobs.addFile(caller, staged, Jobs.PURPOSE_BATCH), false);
                })
                .onComplete(ar -> slot.release())
                .onSuccess(f -> responses.send(ctx, 200, FileObject.of(f)::write))
                .onFailure(e -> UploadReceiver.fail(ctx, e));
    }

    private void listFiles(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String purpose = ctx.queryParams().get("purpose");
        responses.blocking(ctx, () -> jobs.listFiles(caller).stream()
                .filter(f -> purpose == null || purpose.equals(f.purpose())).map(FileObject::of).toList(),
                files -> responses.send(ctx, 200, g -> {
                    g.writeStartObject();
                    g.writeStringField("object", "list");
                    g.writeArrayFieldStart("data");
                    for (FileObject f : files) {
                        f.write(g);
                    }
                    g.writeEndArray();
                    g.writeBooleanField("has_more", false);
                    g.writeEndObject();
                }));
    }

    /** A batch's output or errors, as a file: its parts, once the batch has finished with some. */
    private record Derived(Job job, boolean errors, List<Path> parts, FileObject file) {
    }

    /** The batch's output or errors file by its id, or empty for an uploaded file's id; 404 if it has none (yet). */
    private Optional<Derived> derived(Principal caller, String id) {
        Matcher m = DERIVED.matcher(id);
        if (!m.matches()) {
            return Optional.empty();
        }
        Job job;
        try {
            job = jobs.requireLines(caller, m.group(1));
        } catch (ProblemException e) {
            throw notFound(id);
        }
        boolean errors = m.group(2).equals("errors");
        if (!id.equals(fileId(job, errors))) {
            throw notFound(id);
        }
        List<Path> parts = jobs.parts(job, errors);
        long bytes = 0;
        try {
            for (Path p : parts) {
                bytes += Files.size(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a batch's file", e);
        }
        return Optional.of(new Derived(job, errors, parts, new FileObject(id, bytes, job.finishedAt(),
                job.id() + (errors ? "_errors.jsonl" : "_output.jsonl"), errors ? "batch_error" : "batch_output",
                job.expiresAt())));
    }

    private static ProblemException notFound(String id) {
        return new ProblemException(ProblemType.FILE_NOT_FOUND, "no file '" + id + "'");
    }

    /** A finished batch's output ({@code errors}: error) file id, or null when it has no such lines (or is not finished). */
    static String fileId(Job job, boolean errors) {
        if (!job.status().finished() || (errors ? job.rowsFailed() : job.rowsDone()) == 0) {
            return null;
        }
        return "file-" + job.id() + (errors ? "-errors" : "-output");
    }

    private void getFile(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> derived(caller, id).map(Derived::file)
                .orElseGet(() -> FileObject.of(jobs.requireFile(caller, id))), f -> responses.send(ctx, 200, f::write));
    }

    private void content(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        record Content(List<Path> parts, String filename) {
        }
        responses.blocking(ctx, () -> {
            Optional<Derived> d = derived(caller, id);
            if (d.isPresent()) {
                return new Content(d.get().parts(), d.get().file().filename());
            }
            JobFile f = jobs.requireFile(caller, id);
            return new Content(List.of(jobs.fileContent(f)), f.filename());
        }, c -> {
            ctx.response().setStatusCode(200).setChunked(true).putHeader("Content-Type", "application/octet-stream")
                    .putHeader("Content-Disposition", "attachment; filename=\""
                            + c.filename().replaceAll("[\"\\\\\\p{Cntrl}]", "_") + "\"");
            JobsHandler.pipe(ctx, c.parts().iterator());
        });
    }

    private void deleteFile(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> {
            if (derived(caller, id).isPresent()) {
                throw new ProblemException(ProblemType.INVALID_REQUEST, "file '" + id + "' is a batch's output: it is "
                        + "kept with its batch, and removed with it when its retention runs out");
            }
            jobs.deleteFile(caller, id);
            return id;
        }, deleted -> responses.send(ctx, 200, g -> {
            g.writeStartObject();
            g.writeStringField("id", deleted);
            g.writeStringField("object", "file");
            g.writeBooleanField("deleted", true);
            g.writeEndObject();
        }));
    }

    // ---- batches ----

    /** What {@code POST /v1/batches} asks, checked. */
    record BatchRequest(String inputFileId, JobSpec.Lines lines) {
        static BatchRequest of(JsonNode body) {
            if (!body.isObject()) {
                throw new ProblemException(ProblemType.INVALID_REQUEST, "send a JSON object with 'input_file_id', "
                        + "'endpoint' and 'completion_window'");
            }
            for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (!List.of("input_file_id", "endpoint", "completion_window", "metadata").contains(name)) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + CompletionsHandler.pointerName(name),
                            "unknown field for /v1/batches");
                }
            }
            String file = text(body, "input_file_id", "the id of a file uploaded with purpose 'batch'");
            String endpoint = text(body, "endpoint", OpenAiBatchLines.ROUTES);
            if (!OpenAiBatchLines.serves(endpoint)) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/endpoint", "'endpoint' must be "
                        + OpenAiBatchLines.ROUTES + "; got '" + endpoint + "'");
            }
            String window = text(body, "completion_window", WINDOW);
            if (!window.equals(WINDOW)) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/completion_window",
                        "'completion_window' must be '" + WINDOW + "'");
            }
            Map<String, String> metadata = new LinkedHashMap<>();
            JsonNode m = body.get("metadata");
            if (m != null && !m.isNull()) {
                if (!m.isObject() || m.size() > MAX_METADATA) {
                    throw ProblemException.field(ProblemType.INVALID_REQUEST, "/metadata", "'metadata' must be an "
                            + "object of at most " + MAX_METADATA + " string values");
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (e.getKey().length() > 64 || !e.getValue().isTextual() || e.getValue().textValue().length() > 512) {
                        throw ProblemException.field(ProblemType.INVALID_REQUEST, "/metadata/"
                                + CompletionsHandler.pointerName(e.getKey()), "a metadata key is at most 64 characters "
                                + "and its value a string of at most 512");
                    }
                    metadata.put(e.getKey(), e.getValue().textValue());
                }
            }
            return new BatchRequest(file, new JobSpec.Lines(endpoint, window, metadata));
        }

        private static String text(JsonNode body, String field, String what) {
            JsonNode v = body.get(field);
            if (v == null || !v.isTextual() || v.textValue().isEmpty() || v.textValue().length() > 256) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + field, "'" + field + "' must be " + what);
            }
            return v.textValue();
        }
    }

    private void create(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        if (ctx.body().length() > MAX_BODY) {
            ctx.fail(new ProblemException(ProblemType.INVALID_REQUEST, "a batch's request is at most " + MAX_BODY
                    + " bytes"));
            return;
        }
        BatchRequest request;
        try {
            request = BatchRequest.of(responses.jsonBody(ctx));
        } catch (ProblemException e) {
            ctx.fail(e);
            return;
        }
        responses.blocking(ctx, () -> jobs.submitLines(caller, request.inputFileId(), request.lines()),
                job -> responses.send(ctx, 200, g -> write(g, job)));
    }

    private void list(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        Optional<String> after = Optional.ofNullable(ctx.queryParams().get("after"));
        int limit = limit(ctx);
        responses.blocking(ctx, () -> jobs.listLines(caller, after, limit + 1), page -> {
            List<Job> shown = page.size() > limit ? page.subList(0, limit) : page;
            responses.send(ctx, 200, g -> {
                g.writeStartObject();
                g.writeStringField("object", "list");
                g.writeArrayFieldStart("data");
                for (Job j : shown) {
                    write(g, j);
                }
                g.writeEndArray();
                if (shown.isEmpty()) {
                    g.writeNullField("first_id");
                    g.writeNullField("last_id");
                } else {
                    g.writeStringField("first_id", shown.get(0).id());
                    g.writeStringField("last_id", shown.get(shown.size() - 1).id());
                }
                g.writeBooleanField("has_more", page.size() > limit);
                g.writeEndObject();
            });
        });
    }

    private static int limit(RoutingContext ctx) {
        String v = ctx.queryParams().get("limit");
        if (v == null) {
            return 20;
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= 1 && n <= MAX_PAGE) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw ProblemException.field(ProblemType.INVALID_REQUEST, "/limit", "'limit' must be a whole number from 1 to "
                + MAX_PAGE);
    }

    private void get(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> jobs.requireLines(caller, id), job -> responses.send(ctx, 200, g -> write(g, job)));
    }

    private void cancel(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> jobs.cancel(caller, jobs.requireLines(caller, id).id()),
                job -> responses.send(ctx, 200, g -> write(g, job)));
    }

    /** OpenAI's status for a job's: a queued batch is validating, one whose lines are all answered finalizing. */
    static String status(Job j) {
        return switch (j.status()) {
            case QUEUED -> "validating";
            case RUNNING -> j.rowsTotal() != null && j.rowsDone() + j.rowsFailed() >= j.rowsTotal()
                    ? "finalizing" : "in_progress";
            case COMPLETED -> "completed";
            case FAILED -> "failed";
            case CANCELLING -> "cancelling";
            case CANCELLED -> "cancelled";
        };
    }

    /** The batch object. */
    static void write(JsonGenerator g, Job j) throws IOException {
        JobSpec.Lines lines = j.spec().lines();
        g.writeStartObject();
        g.writeStringField("id", j.id());
        g.writeStringField("object", "batch");
        g.writeStringField("endpoint", lines.endpoint());
        if (j.error() == null) {
            g.writeNullField("errors");
        } else {
            g.writeObjectFieldStart("errors");
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            g.writeStartObject();
            g.writeStringField("code", j.error().code());
            g.writeStringField("message", j.error().detail());
            g.writeNullField("param");
            g.writeNullField("line");
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeStringField("input_file_id", j.inputFileId());
        g.writeStringField("completion_window", lines.completionWindow());
        g.writeStringField("status", status(j));
        nullable(g, "output_file_id", fileId(j, false));
        nullable(g, "error_file_id", fileId(j, true));
        g.writeNumberField("created_at", j.createdAt().getEpochSecond());
        seconds(g, "in_progress_at", j.startedAt());
        seconds(g, "expires_at", j.createdAt().plus(WINDOW_LENGTH));
        seconds(g, "finalizing_at", j.status() == JobStatus.COMPLETED ? j.finishedAt() : null);
        seconds(g, "completed_at", j.status() == JobStatus.COMPLETED ? j.finishedAt() : null);
        seconds(g, "failed_at", j.status() == JobStatus.FAILED ? j.finishedAt() : null);
        g.writeNullField("expired_at");
        seconds(g, "cancelling_at", null);
        seconds(g, "cancelled_at", j.status() == JobStatus.CANCELLED ? j.finishedAt() : null);
        g.writeObjectFieldStart("request_counts");
        g.writeNumberField("total", j.rowsTotal() == null ? 0 : j.rowsTotal());
        g.writeNumberField("completed", j.rowsDone());
        g.writeNumberField("failed", j.rowsFailed());
        g.writeEndObject();
        if (lines.metadata().isEmpty()) {
            g.writeNullField("metadata");
        } else {
            g.writeObjectFieldStart("metadata");
            for (Map.Entry<String, String> e : lines.metadata().entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    private static void nullable(JsonGenerator g, String field, String value) throws IOException {
        if (value == null) {
            g.writeNullField(field);
        } else {
            g.writeStringField(field, value);
        }
    }

    private static void seconds(JsonGenerator g, String field, Instant at) throws IOException {
        if (at == null) {
            g.writeNullField(field);
        } else {
            g.writeNumberField(field, at.getEpochSecond());
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // swept with the upload directory at the next start
        }
    }
}
