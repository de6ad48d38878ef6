package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** Assertions on whole RFC 9457 answers. */
final class Problems {
    private Problems() {
    }

    /** Asserts the status, problem+json media type, every member, and returns the body. */
    static JsonNode assertProblem(HttpResponse<String> response, int status, String code, String detailPart) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode body = TestServer.json(response);
        assertThat(body.get("type").asText()).isEqualTo("https://serveml.dev/problems/" + code);
        assertThat(body.get("code").asText()).isEqualTo(code);
        assertThat(body.get("status").asInt()).isEqualTo(status);
        assertThat(body.get("title").asText()).isNotBlank();
        assertThat(body.get("detail").asText()).contains(detailPart);
        assertThat(body.get("instance").asText()).isEqualTo(response.uri().getRawPath());
        String requestId = response.headers().firstValue("X-Request-Id").orElseThrow();
        assertThat(body.get("requestId").asText()).isEqualTo(requestId);
        assertThat(body.toString()).doesNotContain("Exception", "/tmp", "/work", "java.", "SQL");
        return body;
    }

    /** Asserts a V2 protocol error: status and {"error": "..."} only. */
    static void assertV2Error(HttpResponse<String> response, int status, String messagePart) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        JsonNode body = TestServer.json(response);
        assertThat(body.size()).isEqualTo(1);
        assertThat(body.get("error").asText()).contains(messagePart);
        assertThat(body.toString()).doesNotContain("Exception", "/tmp", "/work", "java.");
    }
}
