package dev.serveml.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.serveml.problem.ProblemException;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.TensorSpec;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** A file's columns bound to a model's inputs, and rows bound to tensors, each bad row alone. */
class BindingTest {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Signature NAMED = new Signature(
            List.of(new TensorSpec("X", DataType.FP32, List.of(-1L, 2L), TensorSpec.TENSOR, List.of("a", "b"))),
            List.of(TensorSpec.tensor("y", DataType.INT64, List.of(-1L))));
    private static final Signature UNNAMED = new Signature(
            List.of(TensorSpec.tensor("X", DataType.FP32, List.of(-1L, 2L))),
            List.of(TensorSpec.tensor("y", DataType.INT64, List.of(-1L))));
    private static final Signature TWO_INPUTS = new Signature(
            List.of(TensorSpec.tensor("text", DataType.BYTES, List.of(-1L)),
                    TensorSpec.tensor("weight", DataType.INT32, List.of(-1L, 1L))),
            List.of(TensorSpec.tensor("score", DataType.FP32, List.of(-1L))));

    private static InputRow.Values row(long line, Object... pairs) {
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            Object v = pairs[i + 1];
            fields.put((String) pairs[i], v instanceof JsonNode n ? n : NODES.textNode(String.valueOf(v)));
        }
        return new InputRow.Values(line, fields);
    }

    @Test
    void aTabularModelsNamedFeaturesMustAllBeInTheFileAndNoOtherColumnUnlessPassedThrough() {
        ProblemException e = catchThrowableOfType(ProblemException.class,
                () -> Binding.of(NAMED, List.of("id", "a", "c"), List.of(), List.of()));
        assertThat(e.type().code()).isEqualTo("job-columns");
        assertThat(e.errors()).extracting(ProblemException.FieldError::pointer)
                .containsExactly("/columns/b", "/columns/id", "/columns/c");
        assertThat(Binding.of(NAMED, List.of("id", "b", "a"), List.of(), List.of("id")).feeds().get(0).columns())
                .containsExactly("a", "b");
    }

    @Test
    void withoutFeatureNamesTheColumnsBesidesPassThroughAreTheFeaturesAndTheirCountMustBeTheWidth() {
        assertThat(catchThrowableOfType(ProblemException.class,
                () -> Binding.of(UNNAMED, List.of("id", "a", "b"), List.of(), List.of())).detail()).contains("takes 2");
        assertThat(catchThrowableOfType(ProblemException.class,
                () -> Binding.of(UNNAMED, List.of("a", "a", "b"), List.of(), List.of())).detail())
                .contains("'a' is named twice");
        assertThat(catchThrowableOfType(ProblemException.class,
                () -> Binding.of(UNNAMED, List.of("y", "a", "b"), List.of(), List.of("y"))).detail())
                .contains("name of one of the model's outputs");
        assertThat(Binding.of(UNNAMED, List.of("id", "p", "q"), List.of(), List.of("id")).feeds().get(0).columns())
                .containsExactly("p", "q");
    }

    @Test
    void aRowThatIsNotNumbersFailsAloneWithItsLineAndColumnAndTheOthersMakeOneTensor() {
        Binding b = Binding.of(UNNAMED, List.of("id", "p", "q"), List.of(), List.of("id"));
        Binding.Bound bound = b.bind(List.of(row(2, "id", 1, "p", "1.5", "q", "2"), row(3, "id", 2, "p", "abc", "q", "1"),
                row(4, "id", 3, "p", "", "q", "1"), row(5, "id", 4, "p", NODES.booleanNode(true), "q", "1"),
                row(6, "id", 5, "p", NODES.numberNode(3), "q", "NaN")));
        assertThat(bound.rows()).extracting(InputRow.Values::line).containsExactly(2L, 6L);
        assertThat(bound.inputs().get(0).shape()).containsExactly(2, 2);
        assertThat(bound.rejected()).extracting(r -> r.problem().detail()).containsExactly(
                "line 3: column 'p' holds \"abc\", not a number", "line 4: column 'p' has no value",
                "line 5: column 'p' holds true, not a number");
    }

    @Test
    void aModelOfSeveralInputsTakesOneColumnEachNamedAsTheInput() {
        ProblemException e = catchThrowableOfType(ProblemException.class,
                () -> Binding.of(TWO_INPUTS, List.of("text", "extra"), List.of(), List.of()));
        assertThat(e.errors()).extracting(ProblemException.FieldError::pointer)
                .containsExactly("/columns/weight", "/columns/extra");
        Binding b = Binding.of(TWO_INPUTS, List.of("id", "weight", "text"), List.of(), List.of("id"));
        Binding.Bound bound = b.bind(List.of(row(2, "id", "a", "weight", "3", "text", "hello"),
                row(3, "id", "b", "weight", "3.5", "text", "x"), row(4, "id", "c", "weight", "99999999999", "text", "y"),
                row(5, "id", "d", "weight", "[4]", "text", "z")));
        assertThat(bound.rows()).extracting(InputRow.Values::line).containsExactly(2L, 5L);
        assertThat(bound.inputs().get(0).shape()).containsExactly(2);
        assertThat(bound.inputs().get(1).shape()).containsExactly(2, 1);
        assertThat(bound.rejected()).hasSize(2).allSatisfy(r -> assertThat(r.problem().code()).isEqualTo("invalid-input"));
    }
}
