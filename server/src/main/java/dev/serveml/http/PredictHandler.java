package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.serveml.auth.Scope;
import dev.serveml.inference.InferenceResult;
import dev.serveml.inference.PredictRequest;
import dev.serveml.inference.Target;
import dev.serveml.predict.Predictor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import io.vertx.core.Future;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.MapSequence;
import dev.serveml.inference.NativeRequest;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorJson;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The native predict routes: the request shapes users already send, answered row by row. */
final class PredictHandler {
    private final Predictor predictor;
    private final Responses responses;

    PredictHandler(Predictor predictor, Responses responses) {
        this.predictor = predictor;
        this.responses = responses;
    }

    void register(HttpApi api) {
        Access access = Access.optional(Scope.PREDICT);
        api.jsonRoute(HttpMethod.POST, "/api/v1/models/:name/predict", access, ctx -> predict(ctx, Optional.empty()));
        api.jsonRoute(HttpMethod.POST, "/api/v1/models/:name/versions/:version/predict", access,
                ctx -> predict(ctx, Optional.of(HttpApi.versionParam(ctx))));
    }

    private void predict(RoutingContext ctx, Optional<Integer> version) {
        Optional<Duration> timeout = HttpApi.requestTimeout(ctx);
        responses.decoded(ctx, () -> NativeRequest.of(responses.jsonBody(ctx)),
                request -> predict(ctx, version, timeout, request));
    }

    private void predict(RoutingContext ctx, Optional<Integer> version, Optional<Duration> timeout,
                         NativeRequest request) {
        String name = ctx.pathParam("name");
        Served served = HttpApi.serving(ctx, Served.model(name));
        PredictRequest predict = HttpApi.predictRequest(ctx, new Target.Model(name, version), timeout, request::bind)
                .withParameters(request.parameters());
        answer(ctx, predictor, responses, request, predict, served, null);
    }

    /**
     * Predicts and answers a native request: all at once ({@link #send}), or, for {@code "stream": true},
     * token by token as Server-Sent Events ({@link NativeStream}); {@code deployment} is the deployment
     * called, or null for a model route. On the event loop.
     */
    static void answer(RoutingContext ctx, Predictor predictor, Responses responses, NativeRequest request,
                       PredictRequest predict, Served served, String deployment) {
        if (!request.stream()) {
            HttpApi.predict(ctx, predictor, predict, served,
                    prediction -> send(responses, ctx, request, prediction.result(), deployment));
            return;
        }
        NativeStream stream = new NativeStream(new LiveEvents(ctx));
        // One stream is one text: a generator bound more rows is refused (a model that does not generate
        // is refused at /stream after binding, whatever it was sent).
        java.util.function.Function<Signature, List<Tensor>> oneText = signature -> {
            List<Tensor> inputs = predict.binder().apply(signature);
            if (signature.findOutput("generated_text").isPresent()
                    && inputs.stream().anyMatch(t -> t.shape().length > 0 && t.shape()[0] != 1)) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, "/inputs", "a stream continues one text: "
                        + "send {\"inputs\": \"a text\", \"stream\": true} (or a list of chat messages), one call per text");
            }
            return inputs;
        };
        PredictRequest streamed = new PredictRequest(predict.caller(), predict.target(), oneText, predict.outputs(),
                predict.timeout(), predict.fresh(), predict.sizeBytes(), predict.metadata(), predict.parameters(), stream,
                predict.lane(), predict.requestId());
        Future.fromCompletionStage(predictor.predict(streamed), ctx.vertx().getOrCreateContext())
                .onSuccess(prediction -> {
                    served.cacheHit(false);
                    prediction.afterDelivery().ifPresent(after -> ctx.addEndHandler(done -> after.run()));
                    stream.finish(prediction.result());
                })
                .onFailure(failure -> stream.fail(failure, RequestIds.of(ctx), ctx::fail));
    }

    /**
     * Sends a native answer within the server's response bound, encoding a large one off the
     * event loop; {@code deployment} is the deployment called, or null for a model route. Texts sent
     * in Hugging Face's shape to a text-classification model are answered in Hugging Face's shape.
     */
    static void send(Responses responses, RoutingContext ctx, NativeRequest request, InferenceResult result,
                     String deployment) {
        responses.sendAnswer(ctx, floorBytes(request.style(), result.outputs()),
                g -> writeAnswer(g, request, result, deployment, HttpApi.elapsedNanos(ctx)));
    }

    /**
     * Writes the native answer to a request in the shape it was asked in (see {@link #send});
     * {@code latencyNanos} is the time since the request came in, for {@code latency_ms}.
     */
    static void writeAnswer(JsonGenerator g, NativeRequest request, InferenceResult result, String deployment,
                            long latencyNanos) throws IOException {
        if (request.texts() != NativeRequest.Texts.NONE && isClassification(result)) {
            boolean topK = request.parameters().get("top_k").isPresent();
            writeClassification(g, request.texts(), topK, (Tensor) result.outputs().get("label"),
                    (Tensor) result.outputs().get("score"));
            return;
        }
        Object task = result.version().metadata().get("task");
        if (request.texts() != NativeRequest.Texts.NONE && task instanceof String t && TextAnswers.serves(t, result.outputs())) {
            TextAnswers.write(g, t, request.texts(), result.outputs());
            return;
        }
        write(g, request.style(), result, deployment, latencyNanos);
    }

    /** A text-classification model's answer: {@code label} BYTES and {@code score} FP32, a row of k per text. */
    private static boolean isClassification(InferenceResult result) {
        return "text-classification".equals(result.version().metadata().get("task"))
                && result.outputs().get("label") instanceof Tensor label && label.datatype() == DataType.BYTES
                && label.shape().length == 2
                && result.outputs().get("score") instanceof Tensor score && score.datatype() == DataType.FP32
                && Arrays.equals(score.shape(), label.shape());
    }

    /**
     * Hugging Face's text-classification pipeline's answer shapes: one text without {@code top_k}
     * gives {@code [{"label", "score"}]}, with it a list of its top k; a list of texts gives one
     * {@code {"label", "score"}} per text without {@code top_k}, a list of k per text with it. The
     * cache status and timings are in the {@code X-Cache} header only: the body is exactly HF's.
     */
    static void writeClassification(JsonGenerator g, NativeRequest.Texts texts, boolean topK, Tensor labels,
                                    Tensor scores) throws IOException {
        int rows = (int) labels.shape()[0];
        int k = (int) labels.shape()[1];
        ByteBuffer data = scores.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        g.writeStartArray();
        for (int row = 0; row < rows; row++) {
            boolean nested = texts == NativeRequest.Texts.LIST && topK;
            if (nested) {
                g.writeStartArray();
            }
            for (int j = 0; j < (topK ? k : Math.min(k, 1)); j++) {
                int i = row * k + j;
                g.writeStartObject();
                g.writeStringField("label", new String(labels.bytes().get(i), StandardCharsets.UTF_8));
                g.writeNumberField("score", data.getFloat(i * Float.BYTES));
                g.writeEndObject();
            }
            if (nested) {
                g.writeEndArray();
            }
        }
        g.writeEndArray();
    }

    /** The fewest bytes {@link #write} can produce for these outputs (saturating): refused above the bound. */
    static long floorBytes(NativeRequest.Style style, Map<String, Output> outputs) {
        long rows = style == NativeRequest.Style.ROWS ? rowCount(outputs) : -1;
        long total = rows > 0 ? saturatedAdd(rows, rows) : 0; // each row's {}
        for (Output o : outputs.values()) {
            long bytes = switch (o) {
                case Tensor t -> TensorJson.nestedJsonFloor(t.shape());
                case MapSequence m -> 2L * m.rows().size() + 2;
            };
            total = saturatedAdd(total, bytes);
        }
        return total;
    }

    private static long saturatedAdd(long a, long b) {
        return a > Long.MAX_VALUE - b ? Long.MAX_VALUE : a + b;
    }

    /** Writes a native answer; {@code deployment} is the deployment called, or null for a model route. */
    static void write(JsonGenerator g, NativeRequest.Style style, InferenceResult result, String deployment,
                      long latencyNanos) throws IOException {
        g.writeStartObject();
        if (deployment != null) {
            g.writeStringField("deployment", deployment);
        }
        g.writeStringField("model", result.version().modelName());
        g.writeNumberField("version", result.version().version());
        long rows = style == NativeRequest.Style.ROWS ? rowCount(result.outputs()) : -1;
        if (rows >= 0) {
            g.writeArrayFieldStart("predictions");
            for (long r = 0; r < rows; r++) {
                g.writeStartObject();
                for (Output o : result.outputs().values()) {
                    g.writeFieldName(o.name());
                    switch (o) {
                        case Tensor t -> TensorJson.writeRow(g, t, r);
                        case MapSequence m -> writeMap(g, m.rows().get((int) r));
                    }
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        } else {
            g.writeObjectFieldStart("outputs");
            for (Output o : result.outputs().values()) {
                g.writeFieldName(o.name());
                switch (o) {
                    case Tensor t -> TensorJson.writeNested(g, t);
                    case MapSequence m -> {
                        g.writeStartArray();
                        for (Map<String, Double> row : m.rows()) {
                            writeMap(g, row);
                        }
                        g.writeEndArray();
                    }
                }
            }
            g.writeEndObject();
        }
        g.writeStringField("cache", result.cache().label());
        g.writeNumberField("inference_ms", result.inferenceNanos() / 1e6);
        g.writeNumberField("latency_ms", latencyNanos / 1e6);
        g.writeEndObject();
    }

    /** The number of rows every output shares along its first dimension, or -1 if they do not. */
    private static long rowCount(Map<String, Output> outputs) {
        long rows = -1;
        for (Output o : outputs.values()) {
            long n = switch (o) {
                case Tensor t -> t.shape().length == 0 ? -1 : t.shape()[0];
                case MapSequence m -> m.rows().size();
            };
            if (n < 0 || (rows >= 0 && n != rows)) {
                return -1;
            }
            rows = n;
        }
        return rows;
    }

    private static void writeMap(JsonGenerator g, Map<String, Double> row) throws IOException {
        g.writeStartObject();
        for (Map.Entry<String, Double> e : row.entrySet()) {
            g.writeNumberField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
    }
}
