package dev.serveml.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.http.V2Codec.InferRequest;
import dev.serveml.http.V2Codec.RequestedOutput;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Tensor;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.Parameters;
import dev.serveml.server.ServemlServer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** Decoding JSON infer requests; the binary extension and encoding are in {@link V2CodecBinaryTest}. */
class V2CodecTest {
    /** The server's own mapper, so the codec is tested with the features it runs with. */
    static final ObjectMapper MAPPER = ServemlServer.objectMapper();
    static final Responses RESPONSES = new Responses(MAPPER, null, 64L << 20);

    private final V2Codec codec = new V2Codec(MAPPER, 64L << 20);

    @Test
    void decodesFlatDataWithItsShapeAndTheRequestId() {
        InferRequest request = decode("""
                {"id": "req-7", "inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3, 4.5]}]}""");

        assertThat(request).isEqualTo(new InferRequest("req-7",
                List.of(Tensor.ofFloats("x", new long[]{2, 2}, 1f, 2f, 3f, 4.5f)), List.of(), false, Parameters.NONE));
    }

    @Test
    void decodesNestedDataTheSameAsFlatData() {
        InferRequest request = decode("""
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2], [3, 4.5]]},
                            {"name": "k", "datatype": "INT64", "shape": [1], "data": [-5]}]}""");

        assertThat(request).isEqualTo(new InferRequest(null, List.of(
                Tensor.ofFloats("x", new long[]{2, 2}, 1f, 2f, 3f, 4.5f),
                Tensor.of("k", DataType.INT64, new long[]{1}, le(8).putLong(-5).flip())), List.of(), false, Parameters.NONE));
    }

    @Test
    void decodesBytesInputsAsUtf8() {
        InferRequest request = decode("""
                {"inputs": [{"name": "s", "datatype": "BYTES", "shape": [2], "data": ["caf\u00e9", ""]}]}""");

        assertThat(request.inputs()).containsExactly(Tensor.ofBytes("s", new long[]{2},
                List.of("caf\u00e9".getBytes(StandardCharsets.UTF_8), new byte[0])));
    }

    @Test
    void decodesRequestedOutputsWithTheirBinaryDataFlag() {
        InferRequest request = decode("""
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
                 "outputs": [{"name": "a", "parameters": {"binary_data": true}}, {"name": "b"}]}""");

        assertThat(request.outputs()).containsExactly(new RequestedOutput("a", true), new RequestedOutput("b", false));
        assertThat(request.binaryOutput()).isFalse();
    }

    @Test
    void binaryDataOutputIsTheDefaultForOutputsWithoutTheirOwnFlag() {
        InferRequest request = decode("""
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
                 "parameters": {"binary_data_output": true},
                 "outputs": [{"name": "a", "parameters": {"binary_data": false}}, {"name": "b"}]}""");

        assertThat(request.outputs()).containsExactly(new RequestedOutput("a", false), new RequestedOutput("b", true));
        assertThat(request.binaryOutput()).isTrue();
    }

    @Test
    void theRequestsParametersGoToTheModelLessTheProtocolsOwn() {
        InferRequest request = decode("""
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
                 "parameters": {"binary_data_output": false, "priority": 2, "sequence_id": 7, "top_k": 3,
                                "candidate_labels": ["a", "b"]}}""");

        assertThat(request.parameters()).isEqualTo(new Parameters(Map.of("top_k", 3L, "candidate_labels",
                List.of("a", "b"))));
        assertThat(decode("""
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
                 "parameters": {"binary_data_output": true}}""").parameters()).isEqualTo(Parameters.NONE);
    }

    @Test
    void ignoresAnIdThatIsNotAString() {
        InferRequest request = decode("""
                {"id": 42, "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]}""");

        assertThat(request.id()).isNull();
    }

    @Test
    void refusesAnInputWithoutAName() {
        assertInvalid("""
                {"inputs": [{"datatype": "FP32", "shape": [1], "data": [1]}]}""",
                "/inputs/0: \"name\" is required and must be a string");
    }

    @Test
    void refusesAnInputWithoutAShape() {
        assertInvalid("""
                {"inputs": [{"name": "x", "datatype": "FP32", "data": [1]}]}""",
                "/inputs/0: \"shape\" is required and must be an array of sizes");
    }

    @Test
    void refusesANegativeOrFractionalDimension() {
        assertInvalid("""
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, -1], "data": [1]}]}""",
                "/inputs/0/shape/1: dimensions are non-negative integers, got -1");
        assertInvalid("""
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1.5], "data": [1]}]}""",
                "/inputs/0/shape/0: dimensions are non-negative integers, got 1.5");
    }

    @Test
    void refusesAnInputWithoutData() {
        assertInvalid("""
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1]}]}""",
                "/inputs/0: input 'x' has neither \"data\" nor binary_data_size");
    }

    @Test
    void refusesAnInputWithoutADatatype() {
        assertInvalid("""
                {"inputs": [{"name": "x", "shape": [1], "data": [1]}]}""",
                "/inputs/0: \"datatype\" is required and must be a string");
    }

    @Test
    void refusesAnUnknownDatatypeListingTheKnownOnes() {
        assertInvalid("""
                {"inputs": [{"name": "x", "datatype": "FLOAT32", "shape": [1], "data": [1]}]}""",
                "/inputs/0/datatype: unknown datatype 'FLOAT32'; use BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, "
                        + "FP64 or BYTES");
    }

    @Test
    void refusesARequestWithoutInputs() {
        assertInvalid("{\"inputs\": []}", "the infer request needs a non-empty \"inputs\" array");
        assertInvalid("{\"outputs\": []}", "the infer request needs a non-empty \"inputs\" array");
        assertInvalid("[1, 2]", "the infer request must be a JSON object with an \"inputs\" array");
    }

    @Test
    void refusesOutputsThatAreNotAnArray() {
        assertInvalid("""
                {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "outputs": {"name": "y"}}""",
                "\"outputs\" must be an array of {\"name\": ...}");
    }

    @Test
    void reportsBadElementsWithThePointerOfTheElement() {
        ProblemException e = failure(() -> decode("""
                {"inputs": [{"name": "x", "datatype": "UINT8", "shape": [2], "data": [1, 256]}]}"""));

        assertThat(e.type()).isEqualTo(ProblemType.DATATYPE_MISMATCH);
        assertThat(e.errors()).containsExactly(new ProblemException.FieldError("/inputs/0/data/1",
                "input 'x' expects UINT8 elements, element 1 is 256"));
    }

    @Test
    void reportsMalformedJsonAsItsOwnProblem() {
        ProblemException e = failure(() -> decode("{\"inputs\": [}"));

        assertThat(e.type()).isEqualTo(ProblemType.MALFORMED_JSON);
        assertThat(e.detail()).startsWith("the request body is not valid JSON at line 1, column 13: ");
    }

    private InferRequest decode(String json) {
        return codec.decode(json.getBytes(StandardCharsets.UTF_8), null, RESPONSES);
    }

    private void assertInvalid(String json, String detail) {
        ProblemException e = failure(() -> decode(json));

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
        assertThat(e.detail()).isEqualTo(detail);
    }

    static ProblemException failure(Runnable call) {
        Throwable thrown = catchThrowable(call::run);
        assertThat(thrown).isInstanceOf(ProblemException.class);
        return (ProblemException) thrown;
    }

    static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
