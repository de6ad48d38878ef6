package dev.serveml.http;

import dev.serveml.http.V2Codec.Encoded;
import dev.serveml.http.V2Codec.InferRequest;
import dev.serveml.http.V2Codec.RequestedOutput;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.serveml.http.V2CodecTest.MAPPER;
import static dev.serveml.http.V2CodecTest.RESPONSES;
import static dev.serveml.http.V2CodecTest.failure;
import static dev.serveml.http.V2CodecTest.le;
import static org.assertj.core.api.Assertions.assertThat;

/** The binary tensor data extension, both ways, and encoding answers. */
class V2CodecBinaryTest {
    private static final byte[] FP32_1_5_AND_MINUS_2 = {0x00, 0x00, (byte) 0xC0, 0x3F, 0x00, 0x00, 0x00, (byte) 0xC0};
    private static final byte[] BYTES_ABC_AND_HE = {3, 0, 0, 0, 'a', 'b', 'c', 3, 0, 0, 0, 'h', (byte) 0xC3, (byte) 0xA9};
    private static final byte[] INT64_258 = {0x02, 0x01, 0, 0, 0, 0, 0, 0};

    private final V2Codec codec = new V2Codec(MAPPER, 64L << 20);

    @Test
    void decodesFp32BytesAndInt64TensorsFromTheBinaryPart() {
        String header = """
                {"id": "b1", "inputs": [
                 {"name": "x", "datatype": "FP32", "shape": [1, 2], "parameters": {"binary_data_size": 8}},
                 {"name": "s", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 14}},
                 {"name": "n", "datatype": "INT64", "shape": [1], "parameters": {"binary_data_size": 8}}]}""";
        byte[] body = concat(utf8(header), FP32_1_5_AND_MINUS_2, BYTES_ABC_AND_HE, INT64_258);

        InferRequest request = codec.decode(body, Integer.toString(utf8(header).length), RESPONSES);

        assertThat(request).isEqualTo(new InferRequest("b1", List.of(
                Tensor.ofFloats("x", new long[]{1, 2}, 1.5f, -2f),
                Tensor.ofBytes("s", new long[]{2}, List.of(utf8("abc"), utf8("h\u00e9"))),
                Tensor.of("n", DataType.INT64, new long[]{1}, le(8).putLong(258).flip())), List.of(), false, Parameters.NONE));
    }

    @Test
    void mixesJsonDataAndBinaryDataInOneRequest() {
        String header = """
                {"inputs": [{"name": "a", "datatype": "INT8", "shape": [2], "data": [-1, 1]},
                 {"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}}]}""";

        InferRequest request = codec.decode(concat(utf8(header), FP32_1_5_AND_MINUS_2),
                " " + utf8(header).length + " ", RESPONSES);

        assertThat(request.inputs()).containsExactly(
                Tensor.of("a", DataType.INT8, new long[]{2}, le(2).put((byte) -1).put((byte) 1).flip()),
                Tensor.ofFloats("x", new long[]{2}, 1.5f, -2f));
    }

    @Test
    void refusesAHeaderLengthLargerThanTheBody() {
        byte[] body = utf8("{\"inputs\": []}");

        assertInvalid(body, "15", "Inference-Header-Content-Length must be the byte length of the JSON header (0..14), "
                + "got '15'");
        assertInvalid(body, "ten", "Inference-Header-Content-Length must be the byte length of the JSON header (0..14), "
                + "got 'ten'");
    }

    @Test
    void refusesABinaryDataSizeRunningPastTheEnd() {
        assertBinaryInvalid("FP32", "[2]", 12, FP32_1_5_AND_MINUS_2,
                "/inputs/0: binary_data_size 12 runs past the end of the body (8 bytes left)");
    }

    @Test
    void refusesTrailingBytesThatNoInputClaims() {
        assertBinaryInvalid("FP32", "[1]", 4, FP32_1_5_AND_MINUS_2,
                "the body has 4 bytes of binary data that no input claims");
    }

    @Test
    void refusesABinaryDataSizeThatDoesNotMatchShapeAndDatatype() {
        assertBinaryInvalid("FP32", "[3]", 8, FP32_1_5_AND_MINUS_2,
                "/inputs/0: binary_data_size is 8 bytes but shape and FP32 need 12");
        assertBinaryInvalid("INT64", "[2]", 8, INT64_258,
                "/inputs/0: binary_data_size is 8 bytes but shape and INT64 need 16");
    }

    @Test
    void refusesAShapeWhoseByteSizeOverflows() {
        assertBinaryInvalid("FP32", "[4611686018427387904]", 0, new byte[0],
                "/inputs/0: shape [4611686018427387904] is too large");
        assertBinaryInvalid("FP32", "[4294967296, 4294967296]", 0, new byte[0],
                "/inputs/0: shape [4294967296, 4294967296] is too large");
    }

    @Test
    void refusesBytesElementsWhoseLengthPrefixRunsPastTheirData() {
        byte[] data = {9, 0, 0, 0, 'a', 'b'};

        assertBinaryInvalid("BYTES", "[1]", 6, data, "/inputs/0: BYTES element 0 claims 9 bytes but only 2 remain");
    }

    @Test
    void refusesBytesDataHoldingAnotherNumberOfElementsThanTheShape() {
        assertBinaryInvalid("BYTES", "[3]", 14, BYTES_ABC_AND_HE,
                "/inputs/0: binary BYTES data holds 2 elements, shape needs 3");
    }

    @Test
    void refusesBothDataAndBinaryDataSize() {
        String header = """
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1, 2],
                 "parameters": {"binary_data_size": 8}}]}""";

        assertInvalid(concat(utf8(header), FP32_1_5_AND_MINUS_2), Integer.toString(utf8(header).length),
                "/inputs/0: give either \"data\" or parameters.binary_data_size, not both");
    }

    @Test
    void encodesOutputsAsJsonWhenNoneAreBinary() {
        Encoded encoded = codec.encode("iris", "3", request("r1", List.of(), false), outputs(
                Tensor.ofFloats("y", new long[]{2}, 0.5f, -1f),
                Tensor.ofBytes("label", new long[]{1}, List.of(utf8("setosa")))));

        assertThat(encoded.binary()).isFalse();
        assertThat(encoded.headerLength()).isEqualTo(-1);
        assertThat(new String(encoded.body(), StandardCharsets.UTF_8)).isEqualTo("{\"model_name\":\"iris\","
                + "\"model_version\":\"3\",\"id\":\"r1\",\"outputs\":["
                + "{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[2],\"data\":[0.5,-1.0]},"
                + "{\"name\":\"label\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"setosa\"]}]}");
    }

    @Test
    void encodesRequestedBinaryOutputsAfterTheJsonHeader() {
        Encoded encoded = codec.encode("iris", "3", request(null, List.of(new RequestedOutput("y", true),
                new RequestedOutput("label", true), new RequestedOutput("k", false)), false), outputs(
                Tensor.ofFloats("y", new long[]{2}, 1.5f, -2f),
                Tensor.ofBytes("label", new long[]{2}, List.of(utf8("abc"), utf8("h\u00e9"))),
                Tensor.of("k", DataType.INT64, new long[]{1}, le(8).putLong(258).flip())));

        assertThat(encoded.binary()).isTrue();
        String header = new String(encoded.body(), 0, encoded.headerLength(), StandardCharsets.UTF_8);
        byte[] binary = Arrays.copyOfRange(encoded.body(), encoded.headerLength(), encoded.body().length);
        assertThat(header).isEqualTo("{\"model_name\":\"iris\",\"model_version\":\"3\",\"outputs\":["
                + "{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[2],\"parameters\":{\"binary_data_size\":8}},"
                + "{\"name\":\"label\",\"datatype\":\"BYTES\",\"shape\":[2],\"parameters\":{\"binary_data_size\":14}},"
                + "{\"name\":\"k\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[258]}]}");
        assertThat(binary).containsExactly(concat(FP32_1_5_AND_MINUS_2, BYTES_ABC_AND_HE));
    }

    @Test
    void binaryDataOutputSendsEveryUnlistedOutputAsBinary() {
        Encoded encoded = codec.encode("m", "1", request(null, List.of(), true), outputs(
                Tensor.of("n", DataType.INT64, new long[]{1}, le(8).putLong(258).flip())));

        assertThat(new String(encoded.body(), 0, encoded.headerLength(), StandardCharsets.UTF_8)).isEqualTo(
                "{\"model_name\":\"m\",\"model_version\":\"1\",\"outputs\":[{\"name\":\"n\",\"datatype\":\"INT64\","
                        + "\"shape\":[1],\"parameters\":{\"binary_data_size\":8}}]}");
        assertThat(Arrays.copyOfRange(encoded.body(), encoded.headerLength(), encoded.body().length))
                .containsExactly(INT64_258);
    }

    @Test
    void encodesAMapSequenceAsAnFp32TensorWithItsClasses() {
        Encoded encoded = codec.encode("clf", "2", request(null, List.of(), false), outputs(new MapSequence(
                "probabilities", List.of(scores(0.75, 0.25), scores(0.125, 0.875)))));

        assertThat(new String(encoded.body(), StandardCharsets.UTF_8)).isEqualTo("{\"model_name\":\"clf\","
                + "\"model_version\":\"2\",\"outputs\":[{\"name\":\"probabilities\",\"datatype\":\"FP32\","
                + "\"shape\":[2,2],\"parameters\":{\"classes\":[\"cat\",\"dog\"]},\"data\":[0.75,0.25,0.125,0.875]}]}");
    }

    @Test
    void encodesABinaryMapSequenceWithItsSizeAndClasses() {
        Encoded encoded = codec.encode("clf", "2", request(null, List.of(new RequestedOutput("p", true)), false),
                outputs(new MapSequence("p", List.of(scores(1.5, -2)))));

        assertThat(new String(encoded.body(), 0, encoded.headerLength(), StandardCharsets.UTF_8)).isEqualTo(
                "{\"model_name\":\"clf\",\"model_version\":\"2\",\"outputs\":[{\"name\":\"p\",\"datatype\":\"FP32\","
                        + "\"shape\":[1,2],\"parameters\":{\"binary_data_size\":8,\"classes\":[\"cat\",\"dog\"]}}]}");
        assertThat(Arrays.copyOfRange(encoded.body(), encoded.headerLength(), encoded.body().length))
                .containsExactly(FP32_1_5_AND_MINUS_2);
    }

    private void assertBinaryInvalid(String datatype, String shape, long size, byte[] data, String detail) {
        String header = "{\"inputs\": [{\"name\": \"x\", \"datatype\": \"" + datatype + "\", \"shape\": " + shape
                + ", \"parameters\": {\"binary_data_size\": " + size + "}}]}";
        assertInvalid(concat(utf8(header), data), Integer.toString(utf8(header).length), detail);
    }

    private void assertInvalid(byte[] body, String headerLength, String detail) {
        ProblemException e = failure(() -> codec.decode(body, headerLength, RESPONSES));

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
        assertThat(e.detail()).isEqualTo(detail);
    }

    private static InferRequest request(String id, List<RequestedOutput> outputs, boolean binaryOutput) {
        return new InferRequest(id, List.of(Tensor.ofFloats("x", new long[]{1}, 1f)), outputs, binaryOutput, Parameters.NONE);
    }

    private static Map<String, Output> outputs(Output... outputs) {
        Map<String, Output> byName = new LinkedHashMap<>();
        for (Output o : outputs) {
            byName.put(o.name(), o);
        }
        return byName;
    }

    private static Map<String, Double> scores(double cat, double dog) {
        Map<String, Double> row = new LinkedHashMap<>();
        row.put("cat", cat);
        row.put("dog", dog);
        return row;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
