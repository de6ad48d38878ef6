package dev.serveml.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.inference.Target;
import dev.serveml.jobs.InputFormat;
import dev.serveml.jobs.Job;
import dev.serveml.jobs.JobFile;
import dev.serveml.jobs.JobProblem;
import dev.serveml.jobs.JobRequest;
import dev.serveml.jobs.JobSpec;
import dev.serveml.jobs.JobStatus;
import dev.serveml.jobs.JobStore;
import dev.serveml.jobs.Jobs;
import dev.serveml.jobs.OutputFormat;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.registry.ModelRegistry;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Batch jobs over REST: input files, submission (multipart with the file and a {@code spec} field, or
 * JSON naming an uploaded file), reads, the event stream, the result and errors streamed from their
 * parts, cancel and delete. Every route takes the {@code predict} scope; a caller sees only its own.
 */
final class JobsHandler {
    private static final int MAX_SPEC_BYTES = 64 * 1024;
    private static final Set<String> SPEC_FIELDS = Set.of("model", "deployment", "version", "input_format",
            "output_format", "features", "passthrough", "rows_per_call", "priority", "input_file_id");
    private static final long EVENT_POLL_MILLIS = 500;
    private static final long KEEPALIVE_NANOS = 15_000_000_000L;
    private static final int MAX_PAGE = 200;

    /** A job as the API shows it. */
    record JobView(String id, String status, String model, String deployment, Integer version, String inputFormat,
                   String outputFormat, int rowsPerCall, int priority, List<String> features, List<String> passthrough,
                   Rows rows, Integer percent, Double rowsPerSecond, Long etaSeconds, Instant createdAt,
                   Instant startedAt, Instant finishedAt, Instant expiresAt, Map<String, Object> error,
                   String resultUrl, String errorsUrl, String eventsUrl) {
        record Rows(Long total, long done, long failed) {
        }

        static JobView of(Job j, Instant now) {
            String base = "/api/v1/jobs/" + j.id();
            Target t = j.spec().target();
            long processed = j.rowsDone() + j.rowsFailed();
            Instant end = j.finishedAt() != null ? j.finishedAt() : now;
            double seconds = j.startedAt() == null ? 0 : Duration.between(j.startedAt(), end).toMillis() / 1000.0;
            Double rate = seconds > 0 && processed > 0 ? Math.round(processed / seconds * 10) / 10.0 : null;
            Integer percent = j.status() == JobStatus.COMPLETED ? Integer.valueOf(100)
                    : j.rowsTotal() == null ? null : j.rowsTotal() == 0 ? Integer.valueOf(0)
                    : Integer.valueOf((int) Math.min(100, processed * 100 / j.rowsTotal()));
            Long eta = j.status() == JobStatus.RUNNING && rate != null && j.rowsTotal() != null
                    ? Long.valueOf((long) Math.ceil(Math.max(0, j.rowsTotal() - processed) / rate)) : null;
            return new JobView(j.id(), j.status().value(), t instanceof Target.Model ? t.name() : null,
                    t instanceof Target.Deployment ? t.name() : null,
                    t instanceof Target.Model m ? m.version().orElse(null) : null,
                    j.spec().input().name().toLowerCase(java.util.Locale.ROOT), j.spec().output().value(),
                    j.spec().rowsPerCall(), j.spec().priority(), j.spec().features(), j.spec().passthrough(),
                    new Rows(j.rowsTotal(), j.rowsDone(), j.rowsFailed()), percent, rate, eta, j.createdAt(),
                    j.startedAt(), j.finishedAt(), j.expiresAt(), problem(j.error()), base + "/result",
                    base + "/errors", base + "/events");
        }

        static Map<String, Object> problem(JobProblem p) {
            return p == null ? null : Problems.stored(p.code(), p.status(), p.title(), p.detail());
        }
    }

    /** A file as the API shows it. */
    record FileView(String id, String filename, String purpose, long bytes, String sha256, Instant createdAt,
                    Instant expiresAt) {
        static FileView of(JobFile f) {
            return new FileView(f.id(), f.filename(), f.purpose(), f.bytes(), f.sha256(), f.createdAt(), f.expiresAt());
        }
    }

    private final Jobs jobs;
    private final UploadReceiver uploads;
    private final Responses responses;

    JobsHandler(Jobs jobs, UploadReceiver uploads, Responses responses) {
        this.jobs = jobs;
        this.uploads = uploads;
        this.responses = responses;
    }

    void register(HttpApi api) {
        Access predict = Access.scope(Scope.PREDICT);
        api.streamingRoute(HttpMethod.POST, "/api/v1/files", predict, this::uploadFile);
        api.route(HttpMethod.GET, "/api/v1/files", predict, this::listFiles);
        api.route(HttpMethod.GET, "/api/v1/files/:id", predict, this::getFile);
        api.route(HttpMethod.DELETE, "/api/v1/files/:id", predict, this::deleteFile);
        api.streamingRoute(HttpMethod.POST, "/api/v1/jobs", predict, this::submit);
        api.route(HttpMethod.GET, "/api/v1/jobs", predict, this::list);
        api.route(HttpMethod.GET, "/api/v1/jobs/:id", predict, this::get);
        api.route(HttpMethod.GET, "/api/v1/jobs/:id/events", predict, this::events);
        api.route(HttpMethod.GET, "/api/v1/jobs/:id/result", predict, ctx -> download(ctx, false));
        api.route(HttpMethod.GET, "/api/v1/jobs/:id/errors", predict, ctx -> download(ctx, true));
        api.route(HttpMethod.POST, "/api/v1/jobs/:id/cancel", predict, this::cancel);
        api.route(HttpMethod.DELETE, "/api/v1/jobs/:id", predict, this::delete);
    }

    // ---- files ----

    private void uploadFile(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        UploadReceiver.Slot slot = uploads.admit(caller.userId());
        uploads.receive(ctx.request())
                .compose(staged -> ctx.vertx().executeBlocking(() -> jobs.addFile(caller, staged, Jobs.PURPOSE_JOBS),
                        false))
                .onComplete(ar -> slot.release())
                .onSuccess(f -> {
                    ctx.response().putHeader("Location", "/api/v1/files/" + f.id());
                    responses.sendValue(ctx, 201, FileView.of(f));
                })
                .onFailure(e -> UploadReceiver.fail(ctx, e));
    }

    private void listFiles(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        responses.blocking(ctx, () -> jobs.listFiles(caller),
                files -> responses.sendValue(ctx, 200, Map.of("files", files.stream().map(FileView::of).toList())));
    }

    private void getFile(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> jobs.requireFile(caller, id), f -> responses.sendValue(ctx, 200, FileView.of(f)));
    }

    private void deleteFile(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> {
            jobs.deleteFile(caller, id);
            return true;
        }, v -> ctx.response().setStatusCode(204).end());
    }

    // ---- jobs ----

    private void submit(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        if (ImportsHandler.isJson(ctx)) {
            ImportsHandler.readBody(ctx.request(), MAX_SPEC_BYTES).onFailure(ctx::fail).onSuccess(bytes -> {
                JobRequest request;
                try {
                    JsonNode spec = responses.readTree(bytes, 0, bytes.length);
                    request = request(spec, Optional.empty());
                } catch (ProblemException e) {
                    ctx.fail(e);
                    return;
                }
                accept(ctx, caller, request);
            });
            return;
        }
        UploadReceiver.Slot slot = uploads.admit(caller.userId());
        uploads.receive(ctx.request())
                .compose(staged -> {
                    try {
                        String text = UploadReceiver.formField(ctx.request(), "spec");
                        if (text == null) {
                            throw new ProblemException(ProblemType.INVALID_JOB, "send the job's spec as a form field "
                                    + "named 'spec' beside the file: -F 'spec={\"model\": \"iris\"}'");
                        }
                        byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                        return Future.succeededFuture(request(responses.readTree(bytes, 0, bytes.length),
                                Optional.of(staged)));
                    } catch (RuntimeException e) {
                        deleteQuietly(staged.file());
                        return Future.failedFuture(e);
                    }
                })
                .compose(request -> ctx.vertx().executeBlocking(() -> jobs.submit(caller, request), false))
                .onComplete(ar -> slot.release())
                .onSuccess(job -> created(ctx, job))
                .onFailure(e -> UploadReceiver.fail(ctx, e));
    }

    private void accept(RoutingContext ctx, Principal caller, JobRequest request) {
        responses.blocking(ctx, () -> jobs.submit(caller, request), job -> created(ctx, job));
    }

    private void created(RoutingContext ctx, Job job) {
        ctx.response().putHeader("Location", "/api/v1/jobs/" + job.id());
        responses.sendValue(ctx, 202, JobView.of(job, Instant.now()));
    }

    private static void deleteQuietly(Path file) {
        try {
            java.nio.file.Files.deleteIfExists(file);
        } catch (java.io.IOException e) {
            // swept with the upload directory at the next start
        }
    }

    /** The spec's JSON as a request; every field is checked here, with a pointer to the one at fault. */
    static JobRequest request(JsonNode spec, Optional<dev.serveml.artifacts.StagedUpload> upload) {
        if (!spec.isObject()) {
            throw new ProblemException(ProblemType.INVALID_JOB, "the spec must be a JSON object such as "
                    + "{\"model\": \"iris\", \"passthrough\": [\"id\"]}");
        }
        for (Iterator<String> names = spec.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!SPEC_FIELDS.contains(name)) {
                throw ProblemException.field(ProblemType.INVALID_JOB, "/" + name, "unknown field '" + name
                        + "'; a spec has " + new java.util.TreeSet<>(SPEC_FIELDS));
            }
        }
        String model = text(spec, "model");
        String deployment = text(spec, "deployment");
        if ((model == null) == (deployment == null)) {
            throw ProblemException.field(ProblemType.INVALID_JOB, "/model", "name either a \"model\" or a "
                    + "\"deployment\" to score the file with");
        }
        Integer version = integer(spec, "version", 1, Integer.MAX_VALUE);
        if (version != null && deployment != null) {
            throw ProblemException.field(ProblemType.INVALID_JOB, "/version", "a deployment's traffic policy picks "
                    + "the version; \"version\" goes with \"model\"");
        }
        String name = model != null ? model : deployment;
        if (!ModelRegistry.NAME.matcher(name).matches()) {
            throw ProblemException.field(ProblemType.INVALID_JOB, model != null ? "/model" : "/deployment",
                    "'" + name + "' is not a model or deployment name");
        }
        Target target = model != null ? new Target.Model(model, Optional.ofNullable(version))
                : new Target.Deployment(deployment);
        Optional<InputFormat> input = Optional.ofNullable(text(spec, "input_format")).map(f -> InputFormat.named(f)
                .orElseThrow(() -> ProblemException.field(ProblemType.INVALID_JOB, "/input_format", "input_format is "
                        + "csv, jsonl or json, not '" + f + "'")));
        Optional<OutputFormat> output = Optional.ofNullable(text(spec, "output_format")).map(f -> OutputFormat.named(f)
                .orElseThrow(() -> ProblemException.field(ProblemType.INVALID_JOB, "/output_format", "output_format is "
                        + "csv or jsonl, not '" + f + "'")));
        Integer rows = integer(spec, "rows_per_call", 1, JobSpec.MAX_ROWS_PER_CALL);
        Integer priority = integer(spec, "priority", -JobSpec.MAX_PRIORITY, JobSpec.MAX_PRIORITY);
        String fileId = text(spec, "input_file_id");
        if (upload.isPresent() == (fileId != null)) {
            throw ProblemException.field(ProblemType.INVALID_JOB, "/input_file_id", upload.isPresent()
                    ? "send the file or name an uploaded one in \"input_file_id\", not both"
                    : "name the input in \"input_file_id\" (upload it with POST /api/v1/files), or send the job as "
                    + "multipart with the file in a part named 'file'");
        }
        return new JobRequest(target, upload, Optional.ofNullable(fileId), input, output, names(spec, "features"),
                names(spec, "passthrough"), rows == null ? JobSpec.DEFAULT_ROWS_PER_CALL : rows,
                priority == null ? 0 : priority);
    }

    private static String text(JsonNode spec, String field) {
        JsonNode v = spec.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual() || v.textValue().isEmpty() || v.textValue().length() > 256) {
            throw ProblemException.field(ProblemType.INVALID_JOB, "/" + field, "'" + field + "' must be a string of "
                    + "1 to 256 characters");
        }
        return v.textValue();
    }

    private static Integer integer(JsonNode spec, String field, int min, int max) {
        JsonNode v = spec.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
            throw ProblemException.field(ProblemType.INVALID_JOB, "/" + field, "'" + field + "' must be a whole number "
                    + "from " + min + " to " + max);
        }
        return v.intValue();
    }

    private static List<String> names(JsonNode spec, String field) {
        JsonNode v = spec.get(field);
        if (v == null || v.isNull()) {
            return List.of();
        }
        if (!v.isArray() || v.size() > 4096) {
            throw ProblemException.field(ProblemType.INVALID_JOB, "/" + field, "'" + field + "' must be a list of "
                    + "column names");
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode n = v.get(i);
            if (!n.isTextual() || n.textValue().isEmpty() || n.textValue().length() > 256) {
                throw ProblemException.field(ProblemType.INVALID_JOB, "/" + field + "/" + i, "a column name is a "
                        + "string of 1 to 256 characters");
            }
            if (names.contains(n.textValue())) {
                throw ProblemException.field(ProblemType.INVALID_JOB, "/" + field + "/" + i, "column '"
                        + n.textValue() + "' is named twice");
            }
            names.add(n.textValue());
        }
        return names;
    }

    private void list(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        Optional<JobStatus> status;
        int limit;
        int offset;
        try {
            String s = ctx.queryParams().get("status");
            status = s == null ? Optional.empty() : Optional.of(JobStatus.named(s).orElseThrow(() ->
                    new ProblemException(ProblemType.INVALID_REQUEST, "status is one of queued, running, completed, "
                            + "failed, cancelling, cancelled; not '" + s + "'")));
            limit = query(ctx, "limit", 50, 1, MAX_PAGE);
            offset = query(ctx, "offset", 0, 0, Integer.MAX_VALUE);
        } catch (ProblemException e) {
            ctx.fail(e);
            return;
        }
        responses.blocking(ctx, () -> jobs.list(caller, status, limit, offset), (JobStore.Page page) -> {
            Instant now = Instant.now();
            responses.sendValue(ctx, 200, Map.of("jobs", page.jobs().stream().map(j -> JobView.of(j, now)).toList(),
                    "total", page.total()));
        });
    }

    private static int query(RoutingContext ctx, String name, int fallback, int min, int max) {
        String v = ctx.queryParams().get(name);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new ProblemException(ProblemType.INVALID_REQUEST, name + " must be a whole number from " + min + " to "
                + max);
    }

    private void get(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> jobs.require(caller, id),
                job -> responses.sendValue(ctx, 200, JobView.of(job, Instant.now())));
    }

    private void cancel(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> jobs.cancel(caller, id),
                job -> responses.sendValue(ctx, 202, JobView.of(job, Instant.now())));
    }

    private void delete(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> {
            jobs.delete(caller, id);
            return true;
        }, v -> ctx.response().setStatusCode(204).end());
    }

    /**
     * The job's state as Server-Sent Events: an event {@code job} whenever it changes (read from the
     * database, so a job run by another replica is followed too), ending once it has finished.
     */
    private void events(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        responses.blocking(ctx, () -> jobs.require(caller, id), first -> new JobEvents(ctx, caller, id).start(first));
    }

    /** One subscriber's stream of a job's changes; used on its request's event loop only. */
    private final class JobEvents {
        private final RoutingContext ctx;
        private final HttpServerResponse response;
        private final Principal caller;
        private final String id;
        private long sent = -1;
        private long lastWrite = System.nanoTime();
        private boolean reading;
        private long timer;

        JobEvents(RoutingContext ctx, Principal caller, String id) {
            this.ctx = ctx;
            this.response = ctx.response();
            this.caller = caller;
            this.id = id;
        }

        void start(Job first) {
            response.setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream")
                    .putHeader("Cache-Control", "no-cache").putHeader("X-Accel-Buffering", "no");
            timer = ctx.vertx().setPeriodic(EVENT_POLL_MILLIS, t -> poll());
            response.closeHandler(v -> ctx.vertx().cancelTimer(timer));
            ctx.request().connection().shutdownHandler(v -> stop());
            write(first);
        }

        /** Reads the job again, unless a read is still under way. */
        private void poll() {
            if (reading) {
                return;
            }
            reading = true;
            ctx.vertx().executeBlocking(() -> jobs.require(caller, id), false).onComplete(ar -> {
                reading = false;
                if (ar.succeeded()) {
                    write(ar.result());
                } else {
                    stop(); // deleted, or the database is gone: the client reconnects
                }
            });
        }

        private void write(Job job) {
            if (response.closed() || response.ended()) {
                return;
            }
            if (job.revision() != sent) {
                sent = job.revision();
                lastWrite = System.nanoTime();
                Buffer data = responses.write(g -> responses.mapper().writeValue(g, JobView.of(job, Instant.now())));
                response.write("id: " + job.revision() + "\nevent: job\ndata: " + data + "\n\n");
            } else if (System.nanoTime() - lastWrite > KEEPALIVE_NANOS) {
                // A queued job may not change for minutes: a comment keeps the connection from idling out.
                lastWrite = System.nanoTime();
                response.write(": waiting\n\n");
            }
            if (job.status().finished()) {
                stop();
            }
        }

        private void stop() {
            ctx.vertx().cancelTimer(timer);
            if (!response.ended() && !response.closed()) {
                response.end();
            }
        }
    }

    /** The result or errors: the parts committed so far, in input order, streamed from their files. */
    private void download(RoutingContext ctx, boolean errors) {
        Principal caller = HttpApi.principal(ctx);
        String id = ctx.pathParam("id");
        boolean partial = "true".equals(ctx.queryParams().get("partial"));
        record Download(Job job, List<Path> parts, String header) {
        }
        responses.blocking(ctx, () -> {
            Job job = jobs.require(caller, id);
            if (!partial && !job.status().finished()) {
                throw new ProblemException(ProblemType.JOB_NOT_FINISHED, "job '" + id + "' is " + job.status().value()
                        + "; download the rows done so far with ?partial=true, or wait for it to finish");
            }
            return new Download(job, jobs.parts(job, errors), errors ? "" : jobs.resultHeader(job));
        }, d -> {
            boolean csv = !errors && d.job().spec().output() == OutputFormat.CSV;
            HttpServerResponse response = ctx.response();
            response.setStatusCode(200).setChunked(true)
                    .putHeader("Content-Type", csv ? "text/csv; charset=utf-8" : "application/x-ndjson")
                    .putHeader("Content-Disposition", "attachment; filename=\"" + id + (errors ? "-errors.jsonl"
                            : csv ? "-result.csv" : "-result.jsonl") + "\"")
                    .putHeader("X-Job-Status", d.job().status().value());
            if (!d.header().isEmpty()) {
                response.write(d.header());
            }
            pipe(ctx, d.parts().iterator());
        });
    }

    /** Streams these files one after another as the rest of the response, and ends it. */
    static void pipe(RoutingContext ctx, Iterator<Path> parts) {
        HttpServerResponse response = ctx.response();
        if (!parts.hasNext()) {
            response.end();
            return;
        }
        Path next = parts.next();
        ctx.vertx().fileSystem().open(next.toString(), new OpenOptions().setRead(true).setWrite(false))
                .compose(file -> file.pipe().endOnSuccess(false).endOnFailure(false).to(response)
                        .eventually(() -> file.close()))
                .onSuccess(v -> pipe(ctx, parts))
                .onFailure(e -> {
                    // Headers are sent: the client sees a cut-short body (no final chunk), never a wrong one.
                    ctx.request().connection().close();
                });
    }
}
