package dev.serveml.inference;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import dev.serveml.tensor.TensorSpec;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemException.FieldError;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowable;

/** {@link InferenceService#validate}: inputs and requested outputs checked against the signature. */
class InferenceServiceTest {
    private static final Signature SIGNATURE = new Signature(List.of(
            TensorSpec.tensor("a", DataType.FP32, List.of(-1L, 3L)),
            TensorSpec.tensor("b", DataType.INT64, List.of(2L))), List.of(
            TensorSpec.tensor("y", DataType.FP32, List.of(-1L)),
            TensorSpec.tensor("z", DataType.INT64, List.of(-1L, 2L))));
    private static final String INPUTS = "a FP32[-1, 3] (-1: any size), b INT64[2]";

    @Test
    void acceptsInputsMatchingTheSignatureInAnyOrder() {
        assertThatCode(() -> InferenceService.validate(SIGNATURE,
                List.of(zeros("b", DataType.INT64, 2), zeros("a", DataType.FP32, 1, 3)), Set.of("y", "z")))
                .doesNotThrowAnyException();
    }

    @Test
    void acceptsAnySizeInADynamicDimension() {
        for (long rows : new long[]{0, 1, 7, 1000}) {
            assertThatCode(() -> InferenceService.validate(SIGNATURE,
                    List.of(zeros("a", DataType.FP32, rows, 3), zeros("b", DataType.INT64, 2)), Set.of()))
                    .as("%d rows", rows).doesNotThrowAnyException();
        }
    }

    @Test
    void refusesAnUnknownInputListingTheModelsInputs() {
        ProblemException e = failure(List.of(zeros("a", DataType.FP32, 1, 3), zeros("c", DataType.INT64, 2)), Set.of());

        assertThat(e.type()).isEqualTo(ProblemType.UNKNOWN_INPUT);
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/1",
                "the model has no input named 'c'; its inputs are " + INPUTS));
    }

    @Test
    void refusesAnInputGivenTwice() {
        ProblemException e = failure(List.of(zeros("a", DataType.FP32, 1, 3), zeros("b", DataType.INT64, 2),
                zeros("a", DataType.FP32, 1, 3)), Set.of());

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_INPUT);
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/2", "input 'a' is given more than once"));
    }

    @Test
    void refusesMissingInputsNamingThem() {
        ProblemException one = failure(List.of(zeros("a", DataType.FP32, 1, 3)), Set.of());
        ProblemException both = failure(List.of(), Set.of());

        assertThat(one.type()).isEqualTo(ProblemType.MISSING_INPUT);
        assertThat(one.errors()).containsExactly(new FieldError("/inputs",
                "missing input(s) b; the model needs " + INPUTS));
        assertThat(both.detail()).isEqualTo("missing input(s) a, b; the model needs " + INPUTS);
    }

    @Test
    void refusesAnInputOfAnotherDatatype() {
        ProblemException e = failure(List.of(zeros("a", DataType.FP64, 1, 3), zeros("b", DataType.INT64, 2)), Set.of());

        assertThat(e.type()).isEqualTo(ProblemType.DATATYPE_MISMATCH);
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/0", "input 'a' must be FP32, got FP64"));
    }

    @Test
    void refusesAnInputOfAnotherRank() {
        ProblemException e = failure(List.of(zeros("a", DataType.FP32, 3), zeros("b", DataType.INT64, 2)), Set.of());

        assertThat(e.type()).isEqualTo(ProblemType.SHAPE_MISMATCH);
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/0",
                "input 'a' has shape [3] but the model expects [-1, 3] (-1: any size)"));
    }

    @Test
    void refusesAnotherSizeInAFixedDimension() {
        ProblemException wide = failure(List.of(zeros("a", DataType.FP32, 2, 4), zeros("b", DataType.INT64, 2)),
                Set.of());
        ProblemException shortB = failure(List.of(zeros("a", DataType.FP32, 2, 3), zeros("b", DataType.INT64, 3)),
                Set.of());

        assertThat(wide.type()).isEqualTo(ProblemType.SHAPE_MISMATCH);
        assertThat(wide.detail()).isEqualTo("input 'a' has shape [2, 4] but the model expects [-1, 3] (-1: any size)");
        assertThat(shortB.errors()).containsExactly(new FieldError("/inputs/1",
                "input 'b' has shape [3] but the model expects [2]"));
    }

    @Test
    void refusesAnUnknownRequestedOutputListingTheModelsOutputs() {
        ProblemException e = failure(List.of(zeros("a", DataType.FP32, 1, 3), zeros("b", DataType.INT64, 2)),
                Set.of("w"));

        assertThat(e.type()).isEqualTo(ProblemType.UNKNOWN_OUTPUT);
        assertThat(e.errors()).containsExactly(new FieldError("/outputs",
                "the model has no output named 'w'; its outputs are y FP32[-1] (-1: any size), "
                        + "z INT64[-1, 2] (-1: any size)"));
    }

    private static ProblemException failure(List<Tensor> inputs, Set<String> outputs) {
        Throwable thrown = catchThrowable(() -> InferenceService.validate(SIGNATURE, inputs, outputs));
        assertThat(thrown).isInstanceOf(ProblemException.class);
        return (ProblemException) thrown;
    }

    private static Tensor zeros(String name, DataType type, long... shape) {
        return Tensor.of(name, type, shape, ByteBuffer.allocate((int) Tensor.elementCount(shape) * type.size()));
    }
}
