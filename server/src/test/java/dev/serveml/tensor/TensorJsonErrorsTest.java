package dev.serveml.tensor;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemException.FieldError;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.serveml.tensor.TensorJsonTest.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** What {@link TensorJson#decode} refuses, and where it says the fault is. */
class TensorJsonErrorsTest {

    @Test
    void refusesARaggedNestedArrayPointingAtTheShortRow() {
        ProblemException e = fail(DataType.FP32, null, "[[1, 2], [3]]");

        assertThat(e.type()).isEqualTo(ProblemType.SHAPE_MISMATCH);
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/0/data/1",
                "ragged nested array at /inputs/0/data/1: expected 2 elements at depth 1"));
    }

    @Test
    void refusesAnArrayWhereAValueIsExpected() {
        ProblemException e = fail(DataType.INT32, null, "[1, [2]]");

        assertThat(e.type()).isEqualTo(ProblemType.SHAPE_MISMATCH);
        assertThat(e.errors()).extracting(FieldError::pointer).containsExactly("/inputs/0/data/1");
    }

    @Test
    void refusesAValueWhereARowIsExpected() {
        ProblemException e = fail(DataType.INT32, null, "[[1, 2], 3]");

        assertThat(e.type()).isEqualTo(ProblemType.SHAPE_MISMATCH);
        assertThat(e.errors()).extracting(FieldError::pointer).containsExactly("/inputs/0/data/1");
    }

    @Test
    void refusesNullInsideTheData() {
        ProblemException e = fail(DataType.FP64, null, "[1.0, null]");

        assertThat(e.type()).isEqualTo(ProblemType.SHAPE_MISMATCH);
        assertThat(e.errors()).extracting(FieldError::pointer).containsExactly("/inputs/0/data/1");
    }

    @Test
    void refusesAnElementCountThatDoesNotFillTheDeclaredShape() {
        ProblemException e = fail(DataType.FP32, new long[]{2, 3}, "[1, 2, 3, 4, 5]");

        assertThat(e.type()).isEqualTo(ProblemType.SHAPE_MISMATCH);
        assertThat(e.detail()).isEqualTo("input 'x' has 5 elements but shape [2, 3] needs 6");
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/0/data", e.detail()));
    }

    @Test
    void refusesADeclaredShapeWithANegativeDimension() {
        ProblemException e = fail(DataType.FP32, new long[]{-1, 2}, "[1, 2]");

        assertThat(e.type()).isEqualTo(ProblemType.SHAPE_MISMATCH);
        assertThat(e.detail()).isEqualTo("input 'x' has an invalid shape [-1, 2]");
    }

    @Test
    void refusesADeclaredShapeWhoseElementCountOverflows() {
        ProblemException e = fail(DataType.FP32, new long[]{1L << 40, 1L << 40}, "[1]");

        assertThat(e.type()).isEqualTo(ProblemType.SHAPE_MISMATCH);
        assertThat(e.detail()).isEqualTo("input 'x' has an invalid shape [1099511627776, 1099511627776]");
    }

    @Test
    void refusesAnObjectInsteadOfAnArray() {
        ProblemException e = fail(DataType.FP32, null, "{\"a\": 1}");

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_INPUT);
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/0/data",
                "expected an array of values at /inputs/0/data"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            UINT8  | [1, 256]                  | 256
            UINT8  | [1, -1]                   | -1
            UINT16 | [1, 65536]                | 65536
            UINT32 | [1, -1]                   | -1
            UINT32 | [1, 4294967296]           | 4294967296
            UINT64 | [1, -1]                   | -1
            UINT64 | [1, 18446744073709551616] | 18446744073709551616
            UINT64 | [1, 1.8446744073709552E19] | 1.8446744073709552E19
            UINT64 | [1, 0.5]                  | 0.5
            INT8   | [1, 128]                  | 128
            INT8   | [1, -129]                 | -129
            INT16  | [1, 32768]                | 32768
            INT32  | [1, 1.5]                  | 1.5
            INT32  | [1, 2147483648]           | 2147483648
            INT64  | [1, 9223372036854775808]  | 9223372036854775808
            INT64  | [1, 9.3E18]               | 9.3E18
            INT64  | [1, 9.223372036854775807E18] | 9.223372036854776E18
            BOOL   | [true, 1]                 | 1
            FP32   | [1, true]                 | true
            FP32   | [1, "one"]                | "one"
            FP64   | [1, "nan"]                | "nan"
            BYTES  | ["a", 2]                  | 2
            """)
    void refusesAnElementOutsideItsTypeNamingIt(DataType type, String data, String shown) {
        ProblemException e = fail(type, null, data);

        String message = "input 'x' expects " + type + " elements, element 1 is " + shown;
        assertThat(e.type()).isEqualTo(ProblemType.DATATYPE_MISMATCH);
        assertThat(e.detail()).isEqualTo(message);
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/0/data/1", message));
    }

    @Test
    void pointsAtTheNestedElementWhoseTypeIsWrong() {
        ProblemException e = fail(DataType.INT64, null, "[[1, 2], [3, \"4\"]]");

        assertThat(e.type()).isEqualTo(ProblemType.DATATYPE_MISMATCH);
        assertThat(e.errors()).containsExactly(new FieldError("/inputs/0/data/1/1",
                "input 'x' expects INT64 elements, element 3 is \"4\""));
    }

    @Test
    void pointsAtAScalarItself() {
        ProblemException e = fail(DataType.UINT8, null, "300");

        assertThat(e.errors()).containsExactly(new FieldError("/inputs/0/data",
                "input 'x' expects UINT8 elements, element 0 is 300"));
    }

    @Test
    void shortensALongOffendingValueInTheMessage() {
        String longText = "a".repeat(60);
        ProblemException e = fail(DataType.FP32, null, "[\"" + longText + "\"]");

        assertThat(e.detail()).isEqualTo("input 'x' expects FP32 elements, element 0 is \"" + "a".repeat(39) + "...");
    }

    private static ProblemException fail(DataType type, long[] shape, String json) {
        Throwable thrown = catchThrowable(() -> TensorJson.decode("x", type, shape, parse(json), "/inputs/0/data"));
        assertThat(thrown).as("decoding %s as %s", json, type).isInstanceOf(ProblemException.class);
        return (ProblemException) thrown;
    }
}
