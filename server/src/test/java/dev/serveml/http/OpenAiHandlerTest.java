package dev.serveml.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The OpenAI-compatible embeddings body as read and answered, and problems as OpenAI's error types. */
class OpenAiHandlerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static OpenAiHandler.EmbeddingsRequest read(String body) throws Exception {
        return OpenAiHandler.EmbeddingsRequest.of(JSON.readTree(body));
    }

    private static void assertRefused(String body, String pointer, String messagePart) {
        assertThatThrownBy(() -> read(body)).isInstanceOfSatisfying(ProblemException.class, p -> {
            assertThat(p.type()).isEqualTo(ProblemType.INVALID_REQUEST);
            assertThat(p.errors()).extracting(ProblemException.FieldError::pointer).containsExactly(pointer);
            assertThat(p.detail()).contains(messagePart);
        });
    }

    @Test
    void oneTextOrAListIsReadWithItsFormatAndDimensions() throws Exception {
        assertThat(read("{\"model\": \"m\", \"input\": \"a\"}"))
                .isEqualTo(new OpenAiHandler.EmbeddingsRequest("m", List.of("a"), false, 0));
        assertThat(read("{\"model\": \"m\", \"input\": [\"a\", \"b\"], \"encoding_format\": \"base64\", "
                + "\"dimensions\": 8, \"user\": \"u\"}"))
                .isEqualTo(new OpenAiHandler.EmbeddingsRequest("m", List.of("a", "b"), true, 8));
    }

    @Test
    void eachWrongFieldIsNamedByItsPointer() {
        assertRefused("{\"input\": \"a\"}", "/model", "'model'");
        assertRefused("{\"model\": \"m\"}", "/input", "'input'");
        assertRefused("{\"model\": \"m\", \"input\": []}", "/input", "non-empty");
        assertRefused("{\"model\": \"m\", \"input\": [\"a\", [1, 2]]}", "/input/1", "token-id");
        assertRefused("{\"model\": \"m\", \"input\": [1, 2]}", "/input/0", "token-id");
        assertRefused("{\"model\": \"m\", \"input\": \"\"}", "/input", "empty");
        assertRefused("{\"model\": \"m\", \"input\": \"a\", \"encoding_format\": \"int8\"}", "/encoding_format", "base64");
        assertRefused("{\"model\": \"m\", \"input\": \"a\", \"dimensions\": 0}", "/dimensions", "at least 1");
        assertRefused("{\"model\": \"m\", \"input\": \"a\", \"dimensions\": 1.5}", "/dimensions", "whole number");
        assertRefused("{\"model\": \"m\", \"input\": \"a\", \"user\": 3}", "/user", "string");
    }

    @Test
    void onlyAFeatureExtractionSignatureHasAnEmbeddingSize() {
        Signature encoder = new Signature(List.of(TensorSpec.tensor("text", DataType.BYTES, List.of(-1L))),
                List.of(TensorSpec.tensor("embedding", DataType.FP32, List.of(-1L, 32L))));
        assertThat(OpenAiHandler.embeddingSize(encoder, "e")).isEqualTo(32);
        Signature classifier = new Signature(List.of(TensorSpec.tensor("text", DataType.BYTES, List.of(-1L))),
                List.of(TensorSpec.tensor("label", DataType.BYTES, List.of(-1L, 1L))));
        assertThatThrownBy(() -> OpenAiHandler.embeddingSize(classifier, "c"))
                .isInstanceOfSatisfying(ProblemException.class, p -> {
                    assertThat(p.type().status()).isEqualTo(400);
                    assertThat(p.errors().get(0).pointer()).isEqualTo("/model");
                });
    }

    private static JsonNode answer(Tensor vectors, int kept, boolean base64) throws Exception {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            OpenAiHandler.writeEmbeddings(g, "m", vectors, kept, base64, 7);
        }
        return JSON.readTree(out.toString());
    }

    @Test
    void vectorsGoAsFloatsOrLittleEndianBase64AndTruncatedOnesAreRenormalized() throws Exception {
        Tensor vectors = Tensor.ofFloats("embedding", new long[]{2, 4}, 0.5f, 0.5f, 0.5f, 0.5f, 1f, 0f, 0f, 0f);
        JsonNode floats = answer(vectors, 4, false);
        assertThat(floats.at("/data/1/index").asInt()).isEqualTo(1);
        assertThat(floats.at("/data/0/embedding").toString()).isEqualTo("[0.5,0.5,0.5,0.5]");
        assertThat(floats.at("/usage/prompt_tokens").asInt()).isEqualTo(7);
        assertThat(floats.get("model").asText()).isEqualTo("m");

        byte[] raw = Base64.getDecoder().decode(answer(vectors, 4, true).at("/data/0/embedding").asText());
        ByteBuffer le = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(raw).hasSize(16);
        assertThat(le.getFloat(0)).isEqualTo(0.5f);

        JsonNode two = answer(vectors, 2, false);
        assertThat(two.at("/data/0/embedding/0").asDouble()).isCloseTo(Math.sqrt(0.5), within(1e-6));
        assertThat(two.at("/data/0/embedding").size()).isEqualTo(2);
        assertThat(two.at("/data/1/embedding").toString()).isEqualTo("[1.0,0.0]");
    }

    @Test
    void problemsMapToOpenAisErrorTypesAndPointersToParams() {
        assertThat(Problems.openAiType(ProblemType.MALFORMED_JSON)).isEqualTo("invalid_request_error");
        assertThat(Problems.openAiType(ProblemType.INVALID_INPUT)).isEqualTo("invalid_request_error");
        assertThat(Problems.openAiType(ProblemType.INVALID_API_KEY)).isEqualTo("authentication_error");
        assertThat(Problems.openAiType(ProblemType.INSUFFICIENT_SCOPE)).isEqualTo("permission_error");
        assertThat(Problems.openAiType(ProblemType.MODEL_NOT_FOUND)).isEqualTo("not_found_error");
        assertThat(Problems.openAiType(ProblemType.QUOTA_EXCEEDED)).isEqualTo("rate_limit_error");
        assertThat(Problems.openAiType(ProblemType.INFERENCE_TIMEOUT)).isEqualTo("server_error");
        assertThat(Problems.openAiParam("/input/1")).isEqualTo("input.1");
        assertThat(Problems.openAiParam("/dimensions")).isEqualTo("dimensions");
    }

    @Test
    void usageAddsUpTheTokensTheModelCountedPerText() {
        java.nio.ByteBuffer counts = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(7).putLong(12).flip();
        assertThat(OpenAiHandler.promptTokens(Tensor.of("prompt_tokens", DataType.INT64, new long[]{2}, counts)))
                .isEqualTo(19);
        assertThat(OpenAiHandler.promptTokens(null)).as("a model that does not count").isZero();
    }
}
