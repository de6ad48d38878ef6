package dev.serveml.tensor;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Decoding every element type from JSON and writing tensors back; the failures are in {@link TensorJsonErrorsTest}. */
class TensorJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void decodesBooleansAsOneBytePerElement() {
        Tensor t = decode(DataType.BOOL, null, "[true, false, true]");

        assertThat(raw(t)).containsExactly(1, 0, 1);
        assertThat(t.shape()).containsExactly(3);
    }

    @Test
    void decodesUnsignedIntegersUpToEachTypesMaximum() {
        assertThat(raw(decode(DataType.UINT8, null, "[0, 255]"))).containsExactly(0x00, 0xFF);
        assertThat(raw(decode(DataType.UINT16, null, "[1, 65535]"))).containsExactly(le(4).putShort((short) 1)
                .putShort((short) 0xFFFF).array());
        assertThat(raw(decode(DataType.UINT32, null, "[1, 4294967295]"))).containsExactly(le(8).putInt(1)
                .putInt(0xFFFF_FFFF).array());
    }

    @Test
    void decodesUint64ValuesAboveLongMaxValue() {
        Tensor t = decode(DataType.UINT64, null, "[0, 9223372036854775808, 18446744073709551615]");

        assertThat(raw(t)).containsExactly(le(24).putLong(0).putLong(Long.MIN_VALUE).putLong(-1L).array());
    }

    @Test
    void decodesSignedIntegersAtTheirMinimumAndMaximum() {
        assertThat(raw(decode(DataType.INT8, null, "[-128, 127]"))).containsExactly(0x80, 0x7F);
        assertThat(raw(decode(DataType.INT16, null, "[-32768, 32767]"))).containsExactly(le(4)
                .putShort(Short.MIN_VALUE).putShort(Short.MAX_VALUE).array());
        assertThat(raw(decode(DataType.INT32, null, "[-2147483648, 2147483647]"))).containsExactly(le(8)
                .putInt(Integer.MIN_VALUE).putInt(Integer.MAX_VALUE).array());
        assertThat(raw(decode(DataType.INT64, null, "[-9223372036854775808, 9223372036854775807]")))
                .containsExactly(le(16).putLong(Long.MIN_VALUE).putLong(Long.MAX_VALUE).array());
    }

    @Test
    void acceptsWholeNumbersWrittenWithAFractionForEveryIntegerType() {
        assertThat(raw(decode(DataType.UINT8, null, "[3.0, 2.55E2]"))).containsExactly(3, 255);
        assertThat(raw(decode(DataType.UINT16, null, "[3.0]"))).containsExactly(3, 0);
        assertThat(raw(decode(DataType.UINT32, null, "[3.0]"))).containsExactly(3, 0, 0, 0);
        assertThat(raw(decode(DataType.UINT64, null, "[3.0, 1.0E19]"))).containsExactly(le(16).putLong(3)
                .putLong(Long.parseUnsignedLong("10000000000000000000")).array());
        assertThat(raw(decode(DataType.INT8, null, "[-3.0]"))).containsExactly(-3);
        assertThat(raw(decode(DataType.INT16, null, "[-3.0]"))).containsExactly(-3, -1);
        assertThat(raw(decode(DataType.INT32, null, "[3.0, -2.0]"))).containsExactly(le(8).putInt(3).putInt(-2).array());
        assertThat(raw(decode(DataType.INT64, null, "[-9.223372036854775808E18]"))).containsExactly(le(8)
                .putLong(Long.MIN_VALUE).array());
    }

    @Test
    void decodesNestedFp16RowsIntoLittleEndianHalfFloats() {
        Tensor t = decode(DataType.FP16, null, "[[1.5, -2.0], [65504, 0.25]]");

        assertThat(t.shape()).containsExactly(2, 2);
        assertThat(raw(t)).containsExactly(le(8).putShort(Float.floatToFloat16(1.5f))
                .putShort(Float.floatToFloat16(-2.0f)).putShort(Float.floatToFloat16(65504f))
                .putShort(Float.floatToFloat16(0.25f)).array());
    }

    @Test
    void decodesFp32AndFp64IncludingNanAndInfinityStrings() {
        assertThat(raw(decode(DataType.FP32, null, "[0.1, \"NaN\", \"-Infinity\"]"))).containsExactly(le(12)
                .putFloat(0.1f).putFloat(Float.NaN).putFloat(Float.NEGATIVE_INFINITY).array());
        assertThat(raw(decode(DataType.FP64, null, "[0.1, \"NaN\", \"Infinity\", \"-Infinity\"]")))
                .containsExactly(le(32).putDouble(0.1).putDouble(Double.NaN).putDouble(Double.POSITIVE_INFINITY)
                        .putDouble(Double.NEGATIVE_INFINITY).array());
    }

    @Test
    void decodesBytesElementsAsUtf8Strings() {
        Tensor t = decode(DataType.BYTES, new long[]{2}, "[\"h\u00e9llo\", \"\"]");

        assertThat(t.data()).isNull();
        assertThat(t.bytes()).containsExactly("h\u00e9llo".getBytes(StandardCharsets.UTF_8), new byte[0]);
    }

    @Test
    void flatDataWithADeclaredShapeEqualsTheSameDataNested() {
        Tensor flat = decode(DataType.INT32, new long[]{2, 3}, "[1, 2, 3, 4, 5, 6]");
        Tensor nested = decode(DataType.INT32, new long[]{2, 3}, "[[1, 2, 3], [4, 5, 6]]");

        assertThat(flat).isEqualTo(nested);
        assertThat(flat.shape()).containsExactly(2, 3);
        assertThat(raw(flat)).containsExactly(le(24).putInt(1).putInt(2).putInt(3).putInt(4).putInt(5).putInt(6).array());
    }

    @Test
    void infersTheShapeFromTheNestingWhenNoShapeIsGiven() {
        Tensor t = decode(DataType.INT8, null, "[[[1], [2]], [[3], [4]], [[5], [6]]]");

        assertThat(t.shape()).containsExactly(3, 2, 1);
        assertThat(raw(t)).containsExactly(1, 2, 3, 4, 5, 6);
    }

    @Test
    void decodesABareValueAsAScalarWithAnEmptyShape() {
        Tensor t = decode(DataType.FP64, null, "2.5");

        assertThat(t.shape()).isEmpty();
        assertThat(raw(t)).containsExactly(le(8).putDouble(2.5).array());
        assertThat(write(g -> TensorJson.writeNested(g, t))).isEqualTo("2.5");
        assertThat(write(g -> TensorJson.writeFlat(g, t))).isEqualTo("[2.5]");
    }

    @Test
    void decodesAnEmptyArrayAsAZeroLengthTensor() {
        Tensor t = decode(DataType.FP32, null, "[]");

        assertThat(t.shape()).containsExactly(0);
        assertThat(raw(t)).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            BOOL   | [[true,false],[false,true]]
            UINT8  | [[0,1],[254,255]]
            UINT16 | [[0,1],[65534,65535]]
            UINT32 | [[0,1],[4294967294,4294967295]]
            UINT64 | [[0,9223372036854775807],[9223372036854775808,18446744073709551615]]
            INT8   | [[-128,-1],[0,127]]
            INT16  | [[-32768,-1],[0,32767]]
            INT32  | [[-2147483648,-1],[0,2147483647]]
            INT64  | [[-9223372036854775808,-1],[0,9223372036854775807]]
            FP16   | [[0.5,-2.0],[65504.0,"NaN"]]
            FP32   | [[0.1,-2.25],["Infinity","-Infinity"]]
            FP64   | [[0.1,-1.0E-300],["NaN",1.7976931348623157E308]]
            BYTES  | [["a","\\u00e9t\\u00e9"],["","x y"]]
            """)
    void roundTripsNestedAndFlatJsonTextForEveryDataType(DataType type, String nested) {
        Tensor t = decode(type, null, nested);
        String flat = nested.replace("[[", "[").replace("]]", "]").replace("],[", ",");

        assertThat(write(g -> TensorJson.writeNested(g, t))).isEqualTo(nested.replace("\\u00e9", "\u00e9"));
        assertThat(write(g -> TensorJson.writeFlat(g, t))).isEqualTo(flat.replace("\\u00e9", "\u00e9"));
        assertThat(decode(type, new long[]{2, 2}, flat)).isEqualTo(t);
    }

    @Test
    void writesOneRowOfAThreeDimensionalTensorNested() {
        Tensor t = decode(DataType.INT16, null, "[[[1,2],[3,4]],[[5,6],[7,8]],[[9,10],[11,12]]]");

        assertThat(write(g -> TensorJson.writeRow(g, t, 0))).isEqualTo("[[1,2],[3,4]]");
        assertThat(write(g -> TensorJson.writeRow(g, t, 2))).isEqualTo("[[9,10],[11,12]]");
    }

    @Test
    void writesRowsOfAOneDimensionalTensorAsBareValues() {
        Tensor t = decode(DataType.UINT32, null, "[7, 4294967295]");

        assertThat(write(g -> TensorJson.writeRow(g, t, 1))).isEqualTo("4294967295");
    }

    @Test
    void writesATensorBuiltFromRawFloats() {
        Tensor t = Tensor.ofFloats("y", new long[]{2, 1}, 0.75f, -3f);

        assertThat(write(g -> TensorJson.writeNested(g, t))).isEqualTo("[[0.75],[-3.0]]");
        assertThat(write(g -> TensorJson.writeFlat(g, t))).isEqualTo("[0.75,-3.0]");
    }

    @Test
    void readsTheTensorDataWithoutMovingItsPosition() {
        Tensor t = decode(DataType.INT64, null, "[1, 2]");

        write(g -> TensorJson.writeFlat(g, t));

        assertThat(t.data().remaining()).isEqualTo(16);
        assertThat(write(g -> TensorJson.writeFlat(g, t))).isEqualTo("[1,2]");
    }

    @Test
    void writesAnEmptyTensorWithAHugeFirstDimensionAsOneEmptyArrayFlat() {
        Tensor t = Tensor.of("y", DataType.FP32, new long[]{1_000_000_000_000L, 0}, ByteBuffer.allocate(0));

        assertThat(t.elementCount()).isZero();
        assertThat(write(g -> TensorJson.writeFlat(g, t))).isEqualTo("[]");
    }

    @Test
    void writesEmptyTensorsNestedDownToTheirFirstEmptyDimensionOnly() {
        Tensor rows = Tensor.of("y", DataType.FP32, new long[]{3, 0}, ByteBuffer.allocate(0));
        Tensor none = Tensor.of("y", DataType.FP32, new long[]{0, 1_000_000_000_000L}, ByteBuffer.allocate(0));
        Tensor middle = Tensor.ofBytes("s", new long[]{2, 0, 1_000_000_000_000L}, java.util.List.of());

        assertThat(write(g -> TensorJson.writeNested(g, rows))).isEqualTo("[[],[],[]]");
        assertThat(write(g -> TensorJson.writeRow(g, rows, 1))).isEqualTo("[]");
        assertThat(write(g -> TensorJson.writeNested(g, none))).isEqualTo("[]");
        assertThat(write(g -> TensorJson.writeNested(g, middle))).isEqualTo("[[],[]]");
    }

    @Test
    void theNestedFloorCountsTheEmptyRowsAWriterWouldHaveToWrite() {
        assertThat(TensorJson.nestedJsonFloor(new long[]{3, 0})).isEqualTo(8).isLessThanOrEqualTo(write(g ->
                TensorJson.writeNested(g, Tensor.of("y", DataType.FP32, new long[]{3, 0}, ByteBuffer.allocate(0))))
                .length());
        assertThat(TensorJson.nestedJsonFloor(new long[]{1_000_000_000_000L, 0})).isEqualTo(2_000_000_000_002L);
        assertThat(TensorJson.nestedJsonFloor(new long[]{0, 1_000_000_000_000L})).isEqualTo(2);
        assertThat(TensorJson.nestedJsonFloor(new long[]{2, 3})).isEqualTo(2 * 3 + 6).isLessThanOrEqualTo(
                write(g -> TensorJson.writeNested(g, decode(DataType.INT8, null, "[[1,2,3],[4,5,6]]"))).length());
        assertThat(TensorJson.nestedJsonFloor(new long[0])).isEqualTo(1);
    }

    @Test
    void theNestedFloorSaturatesInsteadOfOverflowing() {
        long huge = 1L << 62;

        assertThat(TensorJson.nestedJsonFloor(new long[]{huge, huge, 0})).isEqualTo(Long.MAX_VALUE);
        assertThat(TensorJson.nestedJsonFloor(new long[]{huge, 4})).isEqualTo(Long.MAX_VALUE);
        assertThat(TensorJson.flatJsonFloor(Long.MAX_VALUE)).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aShapeWithAZeroHoldsNoElementsEvenWhenItsOtherDimensionsOverflowALong() {
        long huge = 1L << 62;

        assertThat(Tensor.elementCount(new long[]{huge, huge, 0})).isZero();
        assertThat(Tensor.of("y", DataType.FP64, new long[]{huge, huge, 0}, ByteBuffer.allocate(0)).elementCount())
                .isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Tensor.elementCount(new long[]{huge, 4}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds more than");
    }

    static Tensor decode(DataType type, long[] shape, String json) {
        return TensorJson.decode("x", type, shape, parse(json), "/data");
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(json, e);
        }
    }

    static byte[] raw(Tensor t) {
        ByteBuffer data = t.data().duplicate();
        byte[] out = new byte[data.remaining()];
        data.get(out);
        return out;
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    interface Writing {
        void to(JsonGenerator g) throws IOException;
    }

    static String write(Writing writing) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            writing.to(g);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString();
    }
}
