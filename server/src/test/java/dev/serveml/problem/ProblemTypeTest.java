package dev.serveml.problem;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ProblemTypeTest {

    @Test
    void everyCodeIsUniqueAndAUrlSafeSlug() {
        List<String> codes = Arrays.stream(ProblemType.values()).map(ProblemType::code).toList();

        assertThat(codes).doesNotHaveDuplicates();
        assertThat(codes).allSatisfy(code -> assertThat(code).matches("[a-z]+(-[a-z]+)*"));
    }

    @Test
    void everyStatusIsAClientOrServerError() {
        assertThat(ProblemType.values()).allSatisfy(t -> assertThat(t.status()).isBetween(400, 599));
    }

    @Test
    void exactlyTheThrottledUnavailableAndTimedOutTypesAreRetryable() {
        List<ProblemType> retryable = Arrays.stream(ProblemType.values()).filter(ProblemType::retryable).toList();
        List<ProblemType> transient_ = Arrays.stream(ProblemType.values())
                .filter(t -> t.status() == 429 || t.status() == 503 || t.status() == 504).toList();

        assertThat(retryable).isEqualTo(transient_)
                .containsExactlyInAnyOrder(ProblemType.MODEL_UNAVAILABLE, ProblemType.SERVICE_UNAVAILABLE,
                        ProblemType.INFERENCE_TIMEOUT, ProblemType.QUEUE_FULL, ProblemType.LOGIN_THROTTLED,
                        ProblemType.RATE_LIMITED, ProblemType.QUOTA_EXCEEDED, ProblemType.DATABASE_UNAVAILABLE,
                        ProblemType.TOO_MANY_UPLOADS, ProblemType.HUB_UNAVAILABLE);
    }

    @Test
    void typeUriEndsWithTheCode() {
        assertThat(ProblemType.values()).allSatisfy(t ->
                assertThat(t.typeUri()).isEqualTo("https://serveml.dev/problems/" + t.code()));
    }

    @Test
    void everyTypeHasATitle() {
        assertThat(ProblemType.values()).allSatisfy(t -> assertThat(t.title()).isNotBlank());
    }

    @Test
    void keepsTheSlugsClientsAlreadyDependOn() {
        assertThat(ProblemType.UPLOAD_TOO_LARGE.code()).isEqualTo("payload-too-large");
        assertThat(ProblemType.ROUTE_NOT_FOUND.code()).isEqualTo("not-found");
        assertThat(ProblemType.INTERNAL.code()).isEqualTo("internal-error");
    }
}
