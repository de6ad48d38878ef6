package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * scikit-learn, XGBoost, TorchScript and custom-handler models served from real sandboxed Python
 * workers, answering what the libraries themselves answer (see fixtures/python).
 */
class PythonModelsIT {
    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static JsonNode expected;

    @BeforeAll
    static void start() {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy", "sklearn", "joblib", "xgboost", "torch", "pandas");
        server = shared.server();
        expected = json(new String(fixture("python/expected_python.json"), StandardCharsets.UTF_8));
    }

    static JsonNode upload(String model, String file) {
        HttpResponse<String> r = server.upload(model, file, fixture(file.startsWith("iris") ? file : "python/" + file));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json(r);
    }

    @Test
    void aPickledRandomForestAnswersScikitLearnsLabelsAndProbabilities() {
        JsonNode v = upload("py-forest", "iris_rf.pkl");
        assertThat(v.get("runtime").asText()).isEqualTo("python");
        assertThat(v.get("format").asText()).isEqualTo("pickle");
        assertThat(v.get("signature").get("inputs")).isEqualTo(json(
                "[{\"name\":\"X\",\"datatype\":\"FP64\",\"shape\":[-1,4],\"kind\":\"tensor\",\"columns\":[]}]"));
        assertThat(v.get("metadata").get("estimator").asText()).isEqualTo("RandomForestClassifier");
        assertThat(v.get("metadata").get("classes")).isEqualTo(json("[0,1,2]"));

        JsonNode iris = json(new String(fixture("iris_expected.json"), StandardCharsets.UTF_8));
        JsonNode p = json(server.postJson("/api/v1/models/py-forest/predict", "{\"instances\": " + iris.get("X") + "}"))
                .get("predictions");
        for (int i = 0; i < 150; i++) {
            assertThat(p.get(i).get("label").asLong()).isEqualTo(iris.get("label").get(i).asLong());
            for (int c = 0; c < 3; c++) {
                assertThat(p.get(i).get("probabilities").get(c).asDouble())
                        .isEqualTo(iris.get("probabilities").get(i).get(c).asDouble());
            }
        }
    }

    @Test
    void aPickleFromAnotherScikitLearnVersionLoadsWithTheLibrarysWarningOnTheVersion() {
        // The pickle records the version that wrote it; rewrite it to an old one of the same length.
        String written = expected.get("generated_with").get("sklearn").asText();
        assertThat(written).hasSize(5);
        byte[] bytes = fixture("iris_rf.pkl");
        String text = new String(bytes, StandardCharsets.ISO_8859_1).replace(written, "0.2.4");
        HttpResponse<String> r = server.upload("py-old", "old.pkl", text.getBytes(StandardCharsets.ISO_8859_1));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(json(r).get("metadata").get("warnings").toString()).contains("0.2.4", written);
        assertThat(server.postJson("/api/v1/models/py-old/predict", "{\"features\": [5.1, 3.5, 1.4, 0.2]}")
                .statusCode()).isEqualTo(200);
    }

    @Test
    void aScalerAndLogisticRegressionPipelineMatchesScikitLearn() {
        upload("py-pipeline", "pipeline.joblib");
        JsonNode e = expected.get("pipeline");
        JsonNode p = json(server.postJson("/api/v1/models/py-pipeline/predict", "{\"instances\": " + e.get("X") + "}"))
                .get("predictions");
        for (int i = 0; i < e.get("X").size(); i++) {
            assertThat(p.get(i).get("label").asLong()).isEqualTo(e.get("label").get(i).asLong());
            for (int c = 0; c < 3; c++) {
                assertThat(p.get(i).get("probabilities").get(c).asDouble())
                        .isCloseTo(e.get("probabilities").get(i).get(c).asDouble(), within(1e-12));
            }
        }
    }

    @Test
    void namedFeaturesAreAcceptedByNameAndMissingOrExtraNamesAreListed() {
        JsonNode v = upload("py-named", "pipeline_named.joblib");
        JsonNode e = expected.get("pipeline");
        JsonNode names = e.get("feature_names");
        assertThat(v.get("signature").get("inputs").get(0).get("columns")).isEqualTo(names);
        StringBuilder data = new StringBuilder("{\"data\": {");
        for (int i = 0; i < names.size(); i++) {
            data.append(i == 0 ? "" : ",").append(names.get(i)).append(':').append(e.get("X").get(0).get(i));
        }
        HttpResponse<String> r = server.postJson("/api/v1/models/py-named/predict", data + "}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(json(r).get("predictions").get(0).get("label").asLong()).isEqualTo(e.get("label").get(0).asLong());

        String wrong = data.toString().replace("\"alcohol\"", "\"alcohool\"") + "}}";
        JsonNode problem = assertProblem(server.postJson("/api/v1/models/py-named/predict", wrong), 422,
                "invalid-input", "missing: [alcohol]");
        assertThat(problem.get("detail").asText()).contains("unknown: [alcohool]");
        assertThat(problem.get("errors").findValuesAsText("pointer")).containsExactly("/data/alcohol", "/data/alcohool");
    }

    @Test
    void aRegressorAnswersItsPredictions() {
        upload("py-regressor", "regressor.pkl");
        JsonNode e = expected.get("regressor");
        JsonNode p = json(server.postJson("/api/v1/models/py-regressor/predict", "{\"instances\": " + e.get("X") + "}"))
                .get("predictions");
        for (int i = 0; i < e.get("X").size(); i++) {
            assertThat(p.get(i).get("prediction").asDouble()).isCloseTo(e.get("prediction").get(i).asDouble(),
                    within(1e-9));
        }
    }

    @Test
    void xgboostPickledAndNativeModelsMatchXgboost() {
        upload("py-xgb", "xgb_classifier.pkl");
        JsonNode e = expected.get("xgb_classifier");
        JsonNode p = json(server.postJson("/api/v1/models/py-xgb/predict", "{\"instances\": " + e.get("X") + "}"))
                .get("predictions");
        for (int i = 0; i < 150; i++) {
            assertThat(p.get(i).get("label").asLong()).isEqualTo(e.get("label").get(i).asLong());
            assertThat(p.get(i).get("probabilities").get(1).asDouble())
                    .isCloseTo(e.get("probabilities").get(i).get(1).asDouble(), within(1e-6));
        }
        for (String file : new String[]{"xgb_booster.json", "xgb_booster.ubj"}) {
            String name = "py-" + file.replace('.', '-').replace('_', '-');
            upload(name, file);
            JsonNode b = expected.get("xgb_booster");
            JsonNode q = json(server.postJson("/api/v1/models/" + name + "/predict", "{\"instances\": " + b.get("X") + "}"))
                    .get("predictions");
            for (int i = 0; i < 150; i += 10) {
                assertThat(q.get(i).get("prediction").get(2).asDouble())
                        .isCloseTo(b.get("prediction").get(i).get(2).asDouble(), within(1e-6));
            }
        }
    }

    @Test
    void aTorchScriptModuleAnswersItsOutput() {
        upload("py-torch", "linear.pt");
        JsonNode e = expected.get("linear");
        JsonNode out = json(server.postJson("/api/v1/models/py-torch/predict",
                "{\"inputs\": {\"input\": " + e.get("input") + "}}")).get("outputs").get("output");
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 2; j++) {
                assertThat(out.get(i).get(j).asDouble()).isCloseTo(e.get("output").get(i).get(j).asDouble(), within(1e-5));
            }
        }
    }

    @Test
    void customHandlersInZipAndTarArchivesServeWithSatisfiedRequirements() {
        for (String file : new String[]{"handler_model.zip", "handler_model.tar.gz"}) {
            String name = "py-" + file.replace('.', '-').replace('_', '-');
            JsonNode v = upload(name, file);
            assertThat(v.get("format").asText()).isEqualTo(file.endsWith(".zip") ? "zip" : "tar.gz");
            assertThat(v.get("status").asText()).isEqualTo("ready");
            JsonNode out = json(server.postJson("/api/v1/models/" + name + "/predict",
                    "{\"inputs\": {\"x\": [[1, 2], [3, 4]]}}"));
            assertThat(out.get("outputs").get("doubled")).isEqualTo(json("[[2.5, 4.5], [6.5, 8.5]]"));
        }
    }

    @Test
    void unsatisfiableRequirementsFailTheVersionWithPipsOwnWords() {
        JsonNode problem = assertProblem(server.upload("py-needs", "needs_missing_pkg.zip",
                fixture("python/needs_missing_pkg.zip")), 422, "environment-failed", "serveml-no-such-package==9.9.9");
        assertThat(problem.get("detail").asText()).contains("ERROR: ", "registered as failed");
        JsonNode version = json(server.get("/api/v1/models/py-needs/versions/1"));
        assertThat(version.get("status").asText()).isEqualTo("failed");
        assertThat(version.get("status_message").asText()).contains("No matching distribution found");
        assertProblem(server.postJson("/api/v1/models/py-needs/predict", "{\"inputs\": {\"x\": [[1, 2]]}}"), 409,
                "version-not-servable", "serveml-no-such-package");
    }

    @Test
    void aRequirementsPartBesideTheFileIsUsedAndShownOnTheVersion() {
        String boundary = "b-" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(TestServer.multipart(boundary, "file", "model.zip", Fixtures.zip(Map.of("handler.py", """
                import numpy as np
                def load(model_dir):
                    pass
                def predict(inputs):
                    return {"output": np.asarray(inputs["input"], dtype=np.float32) + 1}
                """))));
        // Replace the closing boundary with a second part holding the requirements.
        byte[] first = body.toByteArray();
        String close = "\r\n--" + boundary + "--\r\n";
        ByteArrayOutputStream both = new ByteArrayOutputStream();
        both.write(first, 0, first.length - close.length());
        both.writeBytes(("\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"requirements\"\r\n\r\n"
                + "numpy\n" + close).getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = server.post("/api/v1/models/py-reqpart/versions",
                "multipart/form-data; boundary=" + boundary, both.toByteArray());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(json(r).get("requirements").asText()).isEqualTo("numpy\n");
        assertThat(json(server.postJson("/api/v1/models/py-reqpart/predict", "{\"inputs\": {\"input\": [[1, 2]]}}"))
                .get("outputs").get("output")).isEqualTo(json("[[2.0, 3.0]]"));
    }

    @Test
    void theCoreBadInputsGetTheSameAnswersOnAPythonModel() {
        upload("py-bad", "iris_rf.pkl");
        assertProblem(server.postJson("/api/v1/models/py-bad/predict", "{\"features\": [5.1, 3.5]}"), 422,
                "shape-mismatch", "[-1, 4]");
        assertProblem(server.postJson("/api/v1/models/py-bad/predict", "{\"features\": [5.1, \"x\", 1, 2]}"), 422,
                "datatype-mismatch", "FP64");
        assertProblem(server.postJson("/api/v1/models/py-bad/predict", "{\"inputs\": {\"Y\": [[1, 2, 3, 4]]}}"), 422,
                "unknown-input", "'Y'");
        assertProblem(server.postJson("/api/v1/models/py-bad/predict", "{\"features\": [5.1, "), 400,
                "malformed-json", "JSON");
        assertProblem(server.postJson("/api/v1/models/py-bad/versions/3/predict", "{\"features\": [1, 2, 3, 4]}"), 404,
                "version-not-found", "no version 3");
        JsonNode v2 = json(server.postJson("/v2/models/py-bad/infer",
                "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FP64\",\"data\":[6.7,3.0,5.2,2.3]}]}"));
        assertThat(v2.get("outputs").get(0).get("data")).isEqualTo(json("[2]"));
        assertThat(json(server.get("/v2/models/py-bad")).get("platform").asText()).isEqualTo("python");
    }
}
