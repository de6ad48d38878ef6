package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static dev.serveml.e2e.Problems.assertV2Error;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/** The Open Inference Protocol (KServe V2 / Triton) routes, JSON and binary, as existing clients call them. */
class V2ProtocolIT {
    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;

    @BeforeAll
    static void start() {
        server = shared.server();
        assertThat(server.upload("iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        assertThat(server.upload("iris", "iris_rf.onnx", fixture("iris_rf.onnx")).statusCode()).isEqualTo(201);
        assertThat(server.upload("types", "all_types.onnx", fixture("all_types.onnx")).statusCode()).isEqualTo(201);
        assertThat(server.upload("wide", "wide_unsigned.onnx", fixture("wide_unsigned.onnx")).statusCode()).isEqualTo(201);
        assertThat(server.upload("zipmap", "iris_zipmap.onnx", fixture("iris_zipmap.onnx")).statusCode()).isEqualTo(201);
    }

    @Test
    void serverMetadataAdvertisesTheBinaryExtensionAndHealthAnswers200() {
        assertThat(json(server.get("/v2"))).isEqualTo(json(
                "{\"name\":\"serveml\",\"version\":\"0.1.0\",\"extensions\":[\"binary_tensor_data\"]}"));
        HttpResponse<String> live = server.get("/v2/health/live");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).isEmpty();
        assertThat(server.get("/v2/health/ready").statusCode()).isEqualTo(200);
    }

    @Test
    void modelMetadataListsVersionsPlatformAndTensors() {
        assertThat(json(server.get("/v2/models/iris"))).isEqualTo(json("""
                {"name":"iris","versions":["1","2"],"platform":"onnx_onnxv1",
                 "inputs":[{"name":"X","datatype":"FP32","shape":[-1,4]}],
                 "outputs":[{"name":"label","datatype":"INT64","shape":[-1]},
                            {"name":"probabilities","datatype":"FP32","shape":[-1,3]}]}"""));
        assertThat(json(server.get("/v2/models/iris/versions/1")).get("versions")).isEqualTo(json("[\"1\"]"));
        assertThat(server.get("/v2/models/iris/ready").statusCode()).isEqualTo(200);
        assertThat(server.get("/v2/models/iris/versions/2/ready").statusCode()).isEqualTo(200);
        assertV2Error(server.get("/v2/models/ghost"), 404, "no model named 'ghost'");
        assertV2Error(server.get("/v2/models/ghost/ready"), 404, "ghost");
        assertV2Error(server.get("/v2/models/iris/versions/5"), 404, "no version 5");
    }

    @Test
    void jsonInferEchoesTheIdAndAcceptsNestedOrFlatData() {
        String nested = """
                {"id":"req-1","inputs":[{"name":"X","shape":[2,4],"datatype":"FP32",
                 "data":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}]}""";
        JsonNode a = json(server.postJson("/v2/models/iris/infer", nested));
        assertThat(a.get("id").asText()).isEqualTo("req-1");
        assertThat(a.get("model_name").asText()).isEqualTo("iris");
        assertThat(a.get("model_version").asText()).isEqualTo("2");
        assertThat(a.get("outputs").get(0)).isEqualTo(json(
                "{\"name\":\"label\",\"datatype\":\"INT64\",\"shape\":[2],\"data\":[0,2]}"));
        assertThat(a.get("outputs").get(1).get("shape")).isEqualTo(json("[2,3]"));
        assertThat(a.get("outputs").get(1).get("data").size()).isEqualTo(6);

        String flat = """
                {"inputs":[{"name":"X","shape":[2,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2,6.7,3.0,5.2,2.3]}],
                 "outputs":[{"name":"label"}]}""";
        JsonNode b = json(server.postJson("/v2/models/iris/versions/1/infer", flat));
        assertThat(b.has("id")).isFalse();
        assertThat(b.get("model_version").asText()).isEqualTo("1");
        assertThat(b.get("outputs").size()).isEqualTo(1);
        assertThat(b.get("outputs").get(0).get("data")).isEqualTo(json("[0,2]"));
    }

    @Test
    void aJsonInferBodyPastTheInlineThresholdIsDecodedOnAWorkerAndAnsweredInFull() {
        // About 100 KB of rows: past the 64 KB parsed on the event loop.
        String rows = "5.1,3.5,1.4,0.2,".repeat(5_000);
        JsonNode a = json(server.postJson("/v2/models/iris/infer", "{\"id\":\"big\",\"inputs\":[{\"name\":\"X\","
                + "\"shape\":[5001,4],\"datatype\":\"FP32\",\"data\":[" + rows + "6.7,3.0,5.2,2.3]}],"
                + "\"outputs\":[{\"name\":\"label\"}]}"));
        assertThat(a.get("id").asText()).isEqualTo("big");
        assertThat(a.get("outputs").get(0).get("shape")).isEqualTo(json("[5001]"));
        assertThat(a.get("outputs").get(0).get("data").get(5_000).asInt()).isEqualTo(2);
        assertThat(server.postJson("/v2/models/iris/infer", "{\"inputs\":[{\"name\":\"X\",\"data\":[" + rows)
                .statusCode()).isEqualTo(400);
    }

    @Test
    void everyDatatypeOnnxRuntimeJavaFeedsRoundTripsThroughJson() {
        String request = """
                {"inputs":[
                 {"name":"in_bool","datatype":"BOOL","shape":[1,2],"data":[true,false]},
                 {"name":"in_uint8","datatype":"UINT8","shape":[1,2],"data":[0,255]},
                 {"name":"in_int8","datatype":"INT8","shape":[1,2],"data":[-128,127]},
                 {"name":"in_int16","datatype":"INT16","shape":[1,2],"data":[-32768,32767]},
                 {"name":"in_int32","datatype":"INT32","shape":[1,2],"data":[-2147483648,2147483647]},
                 {"name":"in_int64","datatype":"INT64","shape":[1,2],"data":[-9223372036854775808,9223372036854775807]},
                 {"name":"in_fp16","datatype":"FP16","shape":[1,2],"data":[1.5,-2.25]},
                 {"name":"in_fp32","datatype":"FP32","shape":[1,2],"data":[[0.1,-3.5]]},
                 {"name":"in_fp64","datatype":"FP64","shape":[1,2],"data":[0.1,1e300]},
                 {"name":"in_string","datatype":"BYTES","shape":[1,2],"data":["héllo",""]}]}""";
        HttpResponse<String> r = server.postJson("/v2/models/types/infer", request);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode outputs = json(r).get("outputs");
        assertThat(outputs.size()).isEqualTo(10);
        assertThat(output(outputs, "out_bool")).isEqualTo(json("[true,false]"));
        assertThat(output(outputs, "out_uint8")).isEqualTo(json("[0,255]"));
        assertThat(output(outputs, "out_int8")).isEqualTo(json("[-128,127]"));
        assertThat(output(outputs, "out_int16")).isEqualTo(json("[-32768,32767]"));
        assertThat(output(outputs, "out_int32")).isEqualTo(json("[-2147483648,2147483647]"));
        assertThat(output(outputs, "out_int64")).isEqualTo(json("[-9223372036854775808,9223372036854775807]"));
        assertThat(output(outputs, "out_fp16")).isEqualTo(json("[1.5,-2.25]"));
        assertThat(output(outputs, "out_fp32")).isEqualTo(json("[0.1,-3.5]"));
        assertThat(output(outputs, "out_fp64")).isEqualTo(json("[0.1,1.0E300]"));
        assertThat(output(outputs, "out_string")).isEqualTo(json("[\"héllo\",\"\"]"));
        for (JsonNode o : outputs) {
            assertThat(o.get("shape")).isEqualTo(json("[1,2]"));
        }
    }

    @Test
    void wideUnsignedTypesAreRefusedWithAClearError() {
        String request = """
                {"inputs":[{"name":"in_uint16","datatype":"UINT16","shape":[1,2],"data":[0,65535]},
                 {"name":"in_uint32","datatype":"UINT32","shape":[1,2],"data":[0,4294967295]},
                 {"name":"in_uint64","datatype":"UINT64","shape":[1,2],"data":[0,18446744073709551615]}]}""";
        assertV2Error(server.postJson("/v2/models/wide/infer", request), 422, "cannot take UINT16");
    }

    @Test
    void aBinaryRequestBuiltByteByByteGetsBinaryOutputs() {
        byte[] header = """
                {"id":"bin-1","inputs":[{"name":"X","shape":[2,4],"datatype":"FP32","parameters":{"binary_data_size":32}}],
                 "outputs":[{"name":"label","parameters":{"binary_data":true}},{"name":"probabilities"}]}"""
                .getBytes(StandardCharsets.UTF_8);
        ByteBuffer rows = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : new float[]{5.1f, 3.5f, 1.4f, 0.2f, 6.7f, 3.0f, 5.2f, 2.3f}) {
            rows.putFloat(f);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(header);
        body.writeBytes(rows.array());
        HttpResponse<byte[]> r = server.sendBytes(HttpRequest.newBuilder(server.uri("/v2/models/iris/infer"))
                .header("Content-Type", "application/octet-stream")
                .header("Inference-Header-Content-Length", Integer.toString(header.length))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build());

        assertThat(r.statusCode()).isEqualTo(200);
        int jsonLength = Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        JsonNode head = json(new String(r.body(), 0, jsonLength, StandardCharsets.UTF_8));
        assertThat(head.get("id").asText()).isEqualTo("bin-1");
        JsonNode label = head.get("outputs").get(0);
        assertThat(label.get("name").asText()).isEqualTo("label");
        assertThat(label.get("parameters").get("binary_data_size").asInt()).isEqualTo(16);
        assertThat(label.has("data")).isFalse();
        assertThat(head.get("outputs").get(1).get("data").size()).isEqualTo(6);
        ByteBuffer labels = ByteBuffer.wrap(r.body(), jsonLength, 16).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new long[]{labels.getLong(), labels.getLong()}).containsExactly(0, 2);
        assertThat(r.body().length).isEqualTo(jsonLength + 16);
    }

    @Test
    void binaryDataOutputTurnsEveryOutputBinaryAndBytesUseLengthPrefixes() {
        byte[] strings = ByteBuffer.allocate(4 + 2 + 4 + 0).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(2).put("ok".getBytes(StandardCharsets.UTF_8)).putInt(0).array();
        byte[] header = ("{\"inputs\":[{\"name\":\"in_string\",\"shape\":[1,2],\"datatype\":\"BYTES\","
                + "\"parameters\":{\"binary_data_size\":" + strings.length + "}}],"
                + "\"outputs\":[{\"name\":\"out_string\"}],\"parameters\":{\"binary_data_output\":true}}")
                .getBytes(StandardCharsets.UTF_8);
        // Every input the model needs must be present; the others travel as JSON.
        String others = ",{\"name\":\"in_bool\",\"datatype\":\"BOOL\",\"shape\":[1,2],\"data\":[true,true]}";
        String full = new String(header, StandardCharsets.UTF_8).replace("}}],\"outputs\"", "}}" + others
                + allOtherInputs() + "],\"outputs\"");
        byte[] fullHeader = full.getBytes(StandardCharsets.UTF_8);
        byte[] body = Arrays.copyOf(fullHeader, fullHeader.length + strings.length);
        System.arraycopy(strings, 0, body, fullHeader.length, strings.length);

        HttpResponse<byte[]> r = server.sendBytes(HttpRequest.newBuilder(server.uri("/v2/models/types/infer"))
                .header("Inference-Header-Content-Length", Integer.toString(fullHeader.length))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
        assertThat(r.statusCode()).as(new String(r.body())).isEqualTo(200);
        int jsonLength = Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        JsonNode head = json(new String(r.body(), 0, jsonLength, StandardCharsets.UTF_8));
        assertThat(head.get("outputs").size()).isEqualTo(1);
        assertThat(head.get("outputs").get(0).get("parameters").get("binary_data_size").asInt()).isEqualTo(strings.length);
        assertThat(Arrays.copyOfRange(r.body(), jsonLength, r.body().length)).isEqualTo(strings);
    }

    private static String allOtherInputs() {
        return """
                ,{"name":"in_uint8","datatype":"UINT8","shape":[1,2],"data":[1,2]}
                ,{"name":"in_int8","datatype":"INT8","shape":[1,2],"data":[1,2]}
                ,{"name":"in_int16","datatype":"INT16","shape":[1,2],"data":[1,2]}
                ,{"name":"in_int32","datatype":"INT32","shape":[1,2],"data":[1,2]}
                ,{"name":"in_int64","datatype":"INT64","shape":[1,2],"data":[1,2]}
                ,{"name":"in_fp16","datatype":"FP16","shape":[1,2],"data":[1,2]}
                ,{"name":"in_fp32","datatype":"FP32","shape":[1,2],"data":[1,2]}
                ,{"name":"in_fp64","datatype":"FP64","shape":[1,2],"data":[1,2]}""";
    }

    @Test
    void zipMapOutputsBecomeScoreTensorsWithTheirClasses() {
        JsonNode r = json(server.postJson("/v2/models/zipmap/infer",
                "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[6.7,3.0,5.2,2.3]}]}"));
        JsonNode probs = r.get("outputs").get(1);
        assertThat(probs.get("name").asText()).isEqualTo("output_probability");
        assertThat(probs.get("datatype").asText()).isEqualTo("FP32");
        assertThat(probs.get("shape")).isEqualTo(json("[1,3]"));
        assertThat(probs.get("parameters").get("classes")).isEqualTo(json("[\"0\",\"1\",\"2\"]"));
        assertThat(probs.get("data").get(2).asDouble()).isBetween(0.89, 0.91);
    }

    @Test
    void badRequestsAnswerTheProtocolsErrorBody() {
        assertV2Error(server.postJson("/v2/models/iris/infer", "{\"inputs\": ["), 400, "not valid JSON");
        assertV2Error(server.postJson("/v2/models/iris/infer", "{\"inputs\": []}"), 400, "non-empty \"inputs\"");
        assertV2Error(server.postJson("/v2/models/iris/infer",
                "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FLOAT\",\"data\":[1,2,3,4]}]}"), 400,
                "unknown datatype 'FLOAT'");
        assertV2Error(server.postJson("/v2/models/iris/infer",
                "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FP64\",\"data\":[1,2,3,4]}]}"), 422,
                "must be FP32");
        assertV2Error(server.postJson("/v2/models/iris/infer",
                "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]}]}"), 422,
                "shape [1, 3]");
        assertV2Error(server.postJson("/v2/models/iris/infer",
                "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3]}]}"), 422,
                "3 elements");
        assertV2Error(server.postJson("/v2/models/iris/infer",
                "{\"inputs\":[{\"name\":\"Y\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}"), 422,
                "no input named 'Y'");
        assertV2Error(server.postJson("/v2/models/iris/infer",
                "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}],"
                        + "\"outputs\":[{\"name\":\"nope\"}]}"), 422, "no output named 'nope'");
        assertV2Error(server.postJson("/v2/models/ghost/infer",
                "{\"inputs\":[{\"name\":\"X\",\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}"), 404, "ghost");
        assertV2Error(server.post("/v2/models/iris/infer", "text/csv", "1,2,3,4".getBytes()), 415, "application/json");
        HttpResponse<String> lying = server.send(HttpRequest.newBuilder(server.uri("/v2/models/iris/infer"))
                .header("Inference-Header-Content-Length", "9999")
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[]}")).build());
        assertV2Error(lying, 400, "Inference-Header-Content-Length");
    }

    private static JsonNode output(JsonNode outputs, String name) {
        for (JsonNode o : outputs) {
            if (o.get("name").asText().equals(name)) {
                return o.get("data");
            }
        }
        throw new AssertionError("no output " + name + " in " + outputs);
    }
}
