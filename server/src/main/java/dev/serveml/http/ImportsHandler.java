package dev.serveml.http;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.hub.FileChoice;
import dev.serveml.hub.RepoId;
import dev.serveml.imports.HubImport;
import dev.serveml.imports.ImportEvent;
import dev.serveml.imports.ImportProblem;
import dev.serveml.imports.ImportRequest;
import dev.serveml.imports.Imports;
import dev.serveml.imports.Preview;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Hub imports over REST: the JSON form of {@code POST /api/v1/models/{name}/versions} (the multipart
 * form is an upload), reads, the event stream, and the preview of a repository. The caller's Hub
 * token comes in {@code X-HF-Token} and goes only to the import; it is never echoed or logged.
 */
final class ImportsHandler {
    /** The header a caller sends its own Hugging Face token in. */
    static final String TOKEN_HEADER = "X-HF-Token";
    private static final int MAX_BODY_BYTES = 64 * 1024;
    private static final Set<String> FIELDS = Set.of("source", "revision", "task", "variant");
    private static final Pattern TOKEN = Pattern.compile("[\\x21-\\x7e]{1,1024}");

    /** An import as the API shows it. */
    record ImportView(String id, String model, String source, String revision, String variant, String task,
                      String commit, String phase, int percent, long bytesDone, Long bytesTotal,
                      Long rateBytesPerSecond, Long etaSeconds, String file, Integer version,
                      Map<String, Object> problem, String eventsUrl, Instant createdAt, Instant updatedAt) {
        static ImportView of(HubImport i) {
            String base = "/api/v1/models/" + i.modelName() + "/imports/" + i.id();
            return new ImportView(i.id(), i.modelName(), i.source(), i.revision(), i.variant(), i.task(), i.commit(),
                    i.phase().value(), i.percent(), i.bytesDone(), i.bytesTotal(), i.rateBytesPerSecond(),
                    i.etaSeconds(), i.file(), i.version(), problem(i.problem()), base + "/events", i.createdAt(),
                    i.updatedAt());
        }

        private static Map<String, Object> problem(ImportProblem p) {
            return p == null ? null : Problems.stored(p.code(), p.status(), p.title(), p.detail());
        }
    }

    /** A repository's preview as the API shows it. */
    record PreviewView(String repo, String revision, String commit, String pipelineTag, String task,
                       @JsonProperty("private") boolean isPrivate, boolean gated, List<String> variants,
                       List<Preview.File> files, long neededBytes, boolean cached) {
        static PreviewView of(Preview p) {
            return new PreviewView(p.repo(), p.revision(), p.commit(), p.pipelineTag().orElse(null),
                    p.task().orElse(null), p.isPrivate(), p.gated(), p.variants(), p.files(), p.neededBytes(),
                    p.cached());
        }
    }

    private final Imports imports;
    private final Responses responses;

    ImportsHandler(Imports imports, Responses responses) {
        this.imports = imports;
        this.responses = responses;
    }

    void register(HttpApi api) {
        Access read = Access.scope(Scope.MODELS_READ);
        api.route(HttpMethod.GET, "/api/v1/models/:name/imports", read, this::list);
        api.route(HttpMethod.GET, "/api/v1/models/:name/imports/:id", read, this::get);
        api.route(HttpMethod.GET, "/api/v1/models/:name/imports/:id/events", read, this::events);
        api.route(HttpMethod.GET, "/api/v1/hub/preview", Access.scope(Scope.MODELS_WRITE), this::preview);
    }

    /** Whether a request to the versions route sends JSON (an import) rather than multipart (an upload). */
    static boolean isJson(RoutingContext ctx) {
        String type = ctx.request().getHeader(io.vertx.core.http.HttpHeaders.CONTENT_TYPE);
        if (type == null) {
            return false;
        }
        int parameters = type.indexOf(';');
        String base = (parameters < 0 ? type : type.substring(0, parameters)).trim().toLowerCase(Locale.ROOT);
        return base.equals("application/json") || base.endsWith("+json");
    }

    /** {@code POST /api/v1/models/{name}/versions} with a JSON body: checks it, then 202 and the import. */
    void create(RoutingContext ctx) {
        String name = ctx.pathParam("name");
        Principal caller = HttpApi.principal(ctx);
        Optional<String> token;
        try {
            token = token(ctx);
        } catch (ProblemException e) {
            ctx.request().resume();
            ctx.fail(e);
            return;
        }
        io.vertx.core.Context context = ctx.vertx().getOrCreateContext();
        readBody(ctx.request(), MAX_BODY_BYTES).onFailure(ctx::fail).onSuccess(bytes -> {
            ImportRequest request;
            try {
                request = request(responses.readTree(bytes, 0, bytes.length));
            } catch (ProblemException e) {
                ctx.fail(e);
                return;
            }
            // The Hub is asked on the import's own check pool, never on an HTTP worker thread.
            io.vertx.core.Future.fromCompletionStage(imports.startLater(caller, name, request, token), context)
                    .onFailure(ctx::fail).onSuccess(imp -> {
                        ImportView view = ImportView.of(imp);
                        ctx.response().putHeader("Location", "/api/v1/models/" + imp.modelName() + "/imports/"
                                + imp.id());
                        responses.sendValue(ctx, 202, view);
                    });
        });
    }

    /** The body, up to {@code maxBytes}; more is {@code payload-too-large}. */
    static io.vertx.core.Future<byte[]> readBody(HttpServerRequest request, int maxBytes) {
        io.vertx.core.Promise<byte[]> promise = io.vertx.core.Promise.promise();
        String length = request.getHeader("Content-Length");
        if (length != null && length.matches("\\d{1,18}") && Long.parseLong(length) > maxBytes) {
            request.response().putHeader("Connection", "close");
            return io.vertx.core.Future.failedFuture(tooLarge(maxBytes));
        }
        Buffer body = Buffer.buffer();
        request.handler(chunk -> {
            if (promise.future().isComplete()) {
                return;
            }
            if (body.length() + chunk.length() > maxBytes) {
                request.response().putHeader("Connection", "close");
                promise.tryFail(tooLarge(maxBytes));
                return;
            }
            body.appendBuffer(chunk);
        });
        request.exceptionHandler(promise::tryFail);
        request.endHandler(v -> promise.tryComplete(body.getBytes()));
        request.resume();
        return promise.future();
    }

    private static ProblemException tooLarge(int maxBytes) {
        return new ProblemException(ProblemType.UPLOAD_TOO_LARGE, "this route's JSON body is at most "
                + maxBytes + " bytes");
    }

    private static Optional<String> token(RoutingContext ctx) {
        String t = ctx.request().getHeader(TOKEN_HEADER);
        if (t == null || t.isEmpty()) {
            return Optional.empty();
        }
        if (!TOKEN.matcher(t).matches()) {
            // Never quoted: it is a secret, even when malformed.
            throw ProblemException.field(ProblemType.INVALID_IMPORT, "/headers/" + TOKEN_HEADER, TOKEN_HEADER
                    + " must be a Hugging Face token (1-1024 printable characters, no spaces)");
        }
        return Optional.of(t);
    }

    /** The body as an import, every field checked; each mistake names its field. */
    static ImportRequest request(JsonNode body) {
        if (!body.isObject()) {
            throw new ProblemException(ProblemType.INVALID_IMPORT, "send {\"source\": \"hf://org/name\", "
                    + "\"revision\": \"main\", \"task\": \"...\", \"variant\": \"fp32\"} (all but source optional)");
        }
        for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
            String field = names.next();
            if (!FIELDS.contains(field)) {
                throw ProblemException.field(ProblemType.INVALID_IMPORT, "/" + pointerSafe(field), "unknown field '"
                        + abbreviate(field) + "'; an import takes source, revision, task and variant");
            }
        }
        String source = text(body, "source").orElseThrow(() -> ProblemException.field(ProblemType.INVALID_IMPORT,
                "/source", "source is required: the repository as hf://org/name"));
        if (!source.startsWith("hf://")) {
            throw ProblemException.field(ProblemType.INVALID_IMPORT, "/source", "source must be a Hugging Face "
                    + "repository written hf://org/name; other sources are uploaded as files (multipart)");
        }
        RepoId repo;
        try {
            repo = RepoId.parse(source);
        } catch (ProblemException e) {
            throw ImportRequest.invalid(e);
        }
        String revision = text(body, "revision").orElse("main");
        Optional<String> variant = text(body, "variant");
        if (variant.isPresent() && !FileChoice.VARIANTS.containsKey(variant.get())) {
            throw ProblemException.field(ProblemType.INVALID_IMPORT, "/variant", "variant must be one of "
                    + String.join(", ", FileChoice.VARIANTS.keySet().stream().sorted().toList()));
        }
        Optional<String> task = text(body, "task");
        if (task.isPresent() && !ImportRequest.TASKS.contains(task.get())) {
            throw ProblemException.field(ProblemType.INVALID_IMPORT, "/task", "task must be one of "
                    + String.join(", ", ImportRequest.TASKS));
        }
        return new ImportRequest(repo, revision, variant, task);
    }

    private static Optional<String> text(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual() || v.textValue().isEmpty() || v.textValue().length() > 256) {
            throw ProblemException.field(ProblemType.INVALID_IMPORT, "/" + field, field
                    + " must be a string of 1-256 characters");
        }
        return Optional.of(v.textValue());
    }

    private static String pointerSafe(String field) {
        return abbreviate(field).replace("~", "~0").replace("/", "~1");
    }

    private static String abbreviate(String text) {
        String printable = text.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() > 40 ? printable.substring(0, 40) + "..." : printable;
    }

    private void get(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        responses.blocking(ctx, () -> imports.require(caller, ctx.pathParam("name"), ctx.pathParam("id")),
                i -> responses.sendValue(ctx, 200, ImportView.of(i)));
    }

    private void list(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        responses.blocking(ctx, () -> imports.list(caller, ctx.pathParam("name")).stream().map(ImportView::of).toList(),
                items -> responses.sendValue(ctx, 200, Views.ListView.of(items)));
    }

    private void preview(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        Optional<String> token = token(ctx);
        String repoText = ctx.queryParams().get("repo");
        if (repoText == null || repoText.isBlank()) {
            throw ProblemException.field(ProblemType.INVALID_IMPORT, "/repo", "repo is required: ?repo=org/name");
        }
        RepoId repo;
        try {
            repo = RepoId.parse(repoText);
        } catch (ProblemException e) {
            ProblemException.FieldError f = e.errors().get(0);
            throw ProblemException.field(ProblemType.INVALID_IMPORT, "/repo", f.message());
        }
        String revision = Optional.ofNullable(ctx.queryParams().get("revision")).filter(r -> !r.isBlank()).orElse("main");
        Optional<String> variant = Optional.ofNullable(ctx.queryParams().get("variant")).filter(v -> !v.isBlank());
        io.vertx.core.Future.fromCompletionStage(imports.previewLater(caller, repo, revision, variant, token),
                        ctx.vertx().getOrCreateContext())
                .onFailure(ctx::fail).onSuccess(p -> responses.sendValue(ctx, 200, PreviewView.of(p)));
    }

    /**
     * Server-Sent Events, as a deployment's: the import's past events, then live ones; the stream
     * ends once the latest says ready or failed. A {@code Last-Event-ID} skips what a reconnecting
     * client has seen.
     */
    private void events(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        String name = ctx.pathParam("name");
        String id = ctx.pathParam("id");
        io.vertx.core.Context context = ctx.vertx().getOrCreateContext();
        responses.vertx().executeBlocking(() -> imports.require(caller, name, id), false).onFailure(ctx::fail)
                .onSuccess(imp -> {
                    EventStream<ImportEvent> stream = new EventStream<>(ctx, new EventStream.Kind<>(ImportEvent::id,
                            e -> e.state().phase().value(),
                            e -> responses.write(g -> responses.mapper().writeValue(g, ImportView.of(e.state()))),
                            e -> e.state().phase().settled(), "waiting for the import to finish"));
                    Runnable unwatch = imports.watch(imp, e -> context.runOnContext(v -> stream.live(e)));
                    stream.closeWith(ctx, unwatch);
                    responses.vertx().executeBlocking(() -> imports.events(imp), false)
                            .onSuccess(stream::replay)
                            .onFailure(e -> {
                                unwatch.run();
                                ctx.fail(e);
                            });
                });
    }
}
