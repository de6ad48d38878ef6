// The bare limit: Vert.x + ONNX Runtime and nothing else (no auth, no rate limit, no metrics, no
// registry): JSON in, one session run on a worker thread, JSON out. Same session settings as
// ServeML (intra-op 1, inter-op 1, all optimisations). Run against the server jar's classes:
//   java -cp server/target/serveml.jar bench/bare/BareServer.java MODEL.onnx PORT
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Map;

public class BareServer {
    public static void main(String[] args) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        OrtSession session = env.createSession(args[0], options);
        String input = session.getInputNames().iterator().next();
        ObjectMapper json = new ObjectMapper();
        int port = Integer.parseInt(args[1]);
        int loops = Runtime.getRuntime().availableProcessors();
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops));
        for (int i = 0; i < loops; i++) {
            vertx.deployVerticle(new AbstractVerticle() {
                @Override
                public void start() {
                    vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
                        vertx.executeBlocking(() -> predict(env, session, input, json, body), false)
                                .onSuccess(out -> req.response().putHeader("Content-Type", "application/json").end(out))
                                .onFailure(e -> req.response().setStatusCode(400).end("{\"error\":\"bad request\"}"));
                    })).listen(port, "127.0.0.1");
                }
            }).await();
        }
        System.out.println("bare server ready on " + port);
    }

    @SuppressWarnings("unchecked")
    static Buffer predict(OrtEnvironment env, OrtSession session, String input, ObjectMapper json, Buffer body)
            throws Exception {
        JsonNode features = json.readTree(body.getBytes()).get("features");
        float[][] x = new float[1][features.size()];
        for (int i = 0; i < features.size(); i++) {
            x[0][i] = (float) features.get(i).asDouble();
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        try (OnnxTensor tensor = OnnxTensor.createTensor(env, x);
             OrtSession.Result result = session.run(Map.of(input, tensor));
             JsonGenerator g = json.getFactory().createGenerator(bytes)) {
            g.writeStartObject();
            g.writeArrayFieldStart("predictions");
            g.writeStartObject();
            for (Map.Entry<String, OnnxValue> e : result) {
                g.writeFieldName(e.getKey());
                Object value = e.getValue().getValue();
                if (value instanceof long[] labels) {
                    g.writeNumber(labels[0]);
                } else if (value instanceof List<?> maps) {
                    g.writeStartObject();
                    for (Map.Entry<Object, Object> m : ((Map<Object, Object>) maps.get(0)).entrySet()) {
                        g.writeNumberField(m.getKey().toString(), ((Number) m.getValue()).doubleValue());
                    }
                    g.writeEndObject();
                } else if (value instanceof float[][] probs) {
                    g.writeStartArray();
                    for (float p : probs[0]) {
                        g.writeNumber(p);
                    }
                    g.writeEndArray();
                } else {
                    g.writeString(String.valueOf(value));
                }
            }
            g.writeEndObject();
            g.writeEndArray();
            g.writeEndObject();
        }
        return Buffer.buffer(bytes.toByteArray());
    }
}
