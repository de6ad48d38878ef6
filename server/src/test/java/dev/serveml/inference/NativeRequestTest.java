package dev.serveml.inference;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemException.FieldError;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

class NativeRequestTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
    private static final Signature ONE_INPUT = new Signature(
            List.of(TensorSpec.tensor("X", DataType.FP32, List.of(-1L, 4L))),
            List.of(TensorSpec.tensor("label", DataType.INT64, List.of(-1L))));
    private static final Signature TWO_INPUTS = new Signature(List.of(
            TensorSpec.tensor("age", DataType.FP32, List.of(-1L, 1L)),
            TensorSpec.tensor("city", DataType.BYTES, List.of(-1L, 1L))),
            List.of(TensorSpec.tensor("score", DataType.FP32, List.of(-1L, 1L))));

    @Test
    void bindsFeaturesAsOneRow() {
        NativeRequest request = NativeRequest.of(parse("{\"features\": [5.1, 3.5, 1.4, 0.2]}"));

        assertThat(request.style()).isEqualTo(NativeRequest.Style.ROWS);
        assertThat(request.bind(ONE_INPUT)).containsExactly(
                Tensor.ofFloats("X", new long[]{1, 4}, 5.1f, 3.5f, 1.4f, 0.2f));
    }

    @Test
    void bindsInstancesAsRows() {
        NativeRequest request = NativeRequest.of(parse("{\"instances\": [[5.1, 3.5, 1.4, 0.2], [6, 3, 4.8, 1.8]]}"));

        assertThat(request.style()).isEqualTo(NativeRequest.Style.ROWS);
        assertThat(request.bind(ONE_INPUT)).containsExactly(
                Tensor.ofFloats("X", new long[]{2, 4}, 5.1f, 3.5f, 1.4f, 0.2f, 6f, 3f, 4.8f, 1.8f));
    }

    @Test
    void bindsNamedInputsWithTheShapeOfTheirNesting() {
        NativeRequest request = NativeRequest.of(parse("{\"inputs\": {\"X\": [[1, 2, 3, 4]]}}"));

        assertThat(request.style()).isEqualTo(NativeRequest.Style.TENSORS);
        assertThat(request.bind(ONE_INPUT)).containsExactly(Tensor.ofFloats("X", new long[]{1, 4}, 1f, 2f, 3f, 4f));
    }

    @Test
    void bindsABareInputsArrayToTheOnlyInput() {
        NativeRequest request = NativeRequest.of(parse("{\"inputs\": [[1, 2, 3, 4], [5, 6, 7, 8]]}"));

        assertThat(request.style()).isEqualTo(NativeRequest.Style.TENSORS);
        assertThat(request.bind(ONE_INPUT)).containsExactly(
                Tensor.ofFloats("X", new long[]{2, 4}, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f));
    }

    @Test
    void bindsADataObjectAsOneRowOfEachInput() {
        NativeRequest request = NativeRequest.of(parse("{\"data\": {\"age\": 41.5, \"city\": \"Oslo\"}}"));

        assertThat(request.style()).isEqualTo(NativeRequest.Style.ROWS);
        assertThat(request.bind(TWO_INPUTS)).containsExactly(
                Tensor.ofFloats("age", new long[]{1, 1}, 41.5f),
                Tensor.ofBytes("city", new long[]{1, 1}, List.of("Oslo".getBytes(StandardCharsets.UTF_8))));
    }

    @Test
    void bindsNamedInputsOfTheirOwnElementType() {
        Signature ints = new Signature(List.of(TensorSpec.tensor("ids", DataType.INT32, List.of(-1L))), List.of());

        assertThat(NativeRequest.of(parse("{\"inputs\": {\"ids\": [7, -1]}}")).bind(ints)).containsExactly(
                Tensor.of("ids", DataType.INT32, new long[]{2},
                        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(7).putInt(-1).flip()));
    }

    @Test
    void refusesTwoEnvelopeKeysAtOnce() {
        ProblemException e = failure(() -> NativeRequest.of(parse("{\"features\": [1], \"instances\": [[1]]}")));

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
        assertThat(e.detail()).isEqualTo("send only one of features, instances, inputs, data; "
                + "got both 'features' and 'instances'");
    }

    @Test
    void refusesABodyWithoutAnEnvelopeKey() {
        ProblemException e = failure(() -> NativeRequest.of(parse("{\"rows\": [[1, 2, 3, 4]]}")));

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
        assertThat(e.detail()).isEqualTo("the body needs one of: \"features\" (one row), \"instances\" (rows), "
                + "\"inputs\" (named tensors) or \"data\" (named values)");
    }

    @Test
    void refusesABodyThatIsNotAnObject() {
        ProblemException e = failure(() -> NativeRequest.of(parse("[1, 2, 3, 4]")));

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
        assertThat(e.detail()).isEqualTo("the body must be a JSON object such as {\"features\": [5.1, 3.5, 1.4, 0.2]}");
    }

    @Test
    void refusesFeaturesForAModelWithTwoInputsNamingThem() {
        NativeRequest request = NativeRequest.of(parse("{\"features\": [1, \"Oslo\"]}"));

        ProblemException e = failure(() -> request.bind(TWO_INPUTS));

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_INPUT);
        assertThat(e.detail()).isEqualTo("this model has 2 inputs ([age, city]); "
                + "name them: {\"inputs\": {\"<name>\": [...]}}");
    }

    @Test
    void refusesAnUnknownInputNamePointingAtIt() {
        NativeRequest request = NativeRequest.of(parse("{\"inputs\": {\"a/b~c\": [[1, 2, 3, 4]]}}"));

        ProblemException e = failure(() -> request.bind(ONE_INPUT));

        assertThat(e.type()).isEqualTo(ProblemType.UNKNOWN_INPUT);
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/a~1b~0c",
                "the model has no input named 'a/b~c'; its inputs are [X]"));
    }

    @Test
    void refusesADataValueThatIsNotAnObject() {
        NativeRequest request = NativeRequest.of(parse("{\"data\": [41.5, \"Oslo\"]}"));

        ProblemException e = failure(() -> request.bind(TWO_INPUTS));

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
        assertThat(e.errors()).containsExactly(new FieldError("/data",
                "\"data\" must be an object of input name to value"));
    }

    @Test
    void pointsAtTheBadFeature() {
        NativeRequest request = NativeRequest.of(parse("{\"features\": [1, 2, \"three\", 4]}"));

        ProblemException e = failure(() -> request.bind(ONE_INPUT));

        assertThat(e.type()).isEqualTo(ProblemType.DATATYPE_MISMATCH);
        assertThat(e.errors()).containsExactly(new FieldError("/features/2",
                "input 'X' expects FP32 elements, element 2 is \"three\""));
    }

    private static ProblemException failure(Runnable call) {
        Throwable thrown = catchThrowable(call::run);
        assertThat(thrown).isInstanceOf(ProblemException.class);
        return (ProblemException) thrown;
    }

    private static final Signature TEXT = new Signature(List.of(TensorSpec.tensor("text", DataType.BYTES, List.of(-1L))),
            List.of(TensorSpec.tensor("generated_text", DataType.BYTES, List.of(-1L))));

    @Test
    void streamIsFalseUnlessSentTrueAndAnythingButABooleanIsRefusedAtStream() {
        assertThat(NativeRequest.of(parse("{\"inputs\": \"Hi\"}")).stream()).isFalse();
        assertThat(NativeRequest.of(parse("{\"inputs\": \"Hi\", \"stream\": false}")).stream()).isFalse();
        assertThat(NativeRequest.of(parse("{\"inputs\": \"Hi\", \"stream\": true}")).stream()).isTrue();
        ProblemException e = (ProblemException) catchThrowable(() -> NativeRequest.of(parse(
                "{\"inputs\": \"Hi\", \"stream\": \"true\"}")));
        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
        assertThat(e.errors()).extracting(FieldError::pointer).containsExactly("/stream");
    }

    @Test
    void chatMessagesAreOneTextTheConversationAsJsonWithChatTrue() {
        NativeRequest request = NativeRequest.of(parse("{\"inputs\": [{\"role\": \"system\", \"content\": \"Be brief\"}, "
                + "{\"role\": \"user\", \"content\": \"Hi\", \"name\": \"ann\"}], \"parameters\": {\"max_new_tokens\": 3}}"));

        assertThat(request.texts()).isEqualTo(NativeRequest.Texts.ONE);
        assertThat(request.parameters().values()).containsEntry("chat", true).containsEntry("max_new_tokens", 3L);
        Tensor text = request.bind(TEXT).get(0);
        assertThat(text.shape()).containsExactly(1);
        assertThat(new String(text.bytes().get(0), StandardCharsets.UTF_8)).isEqualTo(
                "[{\"role\":\"system\",\"content\":\"Be brief\"},{\"role\":\"user\",\"content\":\"Hi\",\"name\":\"ann\"}]");
        assertThat(NativeRequest.of(parse("{\"inputs\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"parameters\": "
                + "{\"chat\": false}}")).parameters().values()).as("the request's own choice stands").containsEntry("chat", false);
    }

    @Test
    void objectsThatAreNotChatMessagesStayRowsOfNamedTexts() {
        // question-answering's list of objects, and messages with a field no message has
        for (String inputs : new String[]{"[{\"question\": \"q\", \"context\": \"c\"}]",
                "[{\"role\": \"user\", \"content\": \"Hi\", \"extra\": \"x\"}]",
                "[{\"role\": \"user\", \"content\": [\"not\", \"text\"]}]"}) {
            NativeRequest request = NativeRequest.of(parse("{\"inputs\": " + inputs + "}"));
            assertThat(request.parameters().values()).as(inputs).doesNotContainKey("chat");
        }
    }
}
