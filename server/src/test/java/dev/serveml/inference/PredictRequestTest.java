package dev.serveml.inference;

import dev.serveml.auth.Principal;
import dev.serveml.auth.Role;
import dev.serveml.auth.Scope;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class PredictRequestTest {
    private static final Principal CALLER = new Principal(7, "ada", Role.USER, Set.of(Scope.PREDICT), 0,
            "127.0.0.1", 0, 0);
    private static final Target IRIS = new Target.Model("iris", Optional.empty());

    @Test
    void onlyRequestsOfAKnownSmallSizeAreBoundOnTheCallingThread() {
        PredictRequest request = PredictRequest.of(CALLER, IRIS, List.of());

        assertThat(request.bindsInline()).as("size unknown").isFalse();
        assertThat(request.withSize(0).bindsInline()).isTrue();
        assertThat(request.withSize(PredictRequest.INLINE_BYTES).bindsInline()).isTrue();
        assertThat(request.withSize(PredictRequest.INLINE_BYTES + 1).bindsInline()).isFalse();
    }

    @Test
    void eachWithChangesOnePartAndKeepsTheRest() {
        PredictRequest request = PredictRequest.of(CALLER, IRIS, List.of())
                .withOutputs(Set.of("label")).withTimeout(Optional.of(Duration.ofSeconds(2))).withFresh(true)
                .withSize(10).withMetadata(name -> name.equals("X-User") ? "u1" : null);

        PredictRequest moved = request.withTarget(new Target.Deployment("web"));

        assertThat(moved.target()).isEqualTo(new Target.Deployment("web"));
        assertThat(moved.caller()).isEqualTo(CALLER);
        assertThat(moved.outputs()).containsExactly("label");
        assertThat(moved.timeout()).contains(Duration.ofSeconds(2));
        assertThat(moved.fresh()).isTrue();
        assertThat(moved.sizeBytes()).isEqualTo(10);
        assertThat(moved.metadata().apply("X-User")).isEqualTo("u1");
        assertThat(moved.binder()).isSameAs(request.binder());
    }

    @Test
    void tensorsGivenUpFrontAreTheInputsWhateverTheSignatureAndCannotBeChangedAfterwards() {
        Tensor x = Tensor.ofFloats("x", new long[]{1, 1}, new float[]{1f});
        List<Tensor> inputs = new ArrayList<>(List.of(x));
        PredictRequest request = PredictRequest.of(CALLER, IRIS, inputs);
        inputs.clear();

        assertThat(request.binder().apply(new Signature(List.of(), List.of()))).containsExactly(x);
        assertThat(request.metadata().apply("anything")).isNull();
    }
}
