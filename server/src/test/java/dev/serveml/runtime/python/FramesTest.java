package dev.serveml.runtime.python;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Golden bytes of the worker protocol, pinned to the examples in serveml_worker/PROTOCOL.md. */
class FramesTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void anEmptyShutdownFrameIsExactlyTheDocumentedEightBytes() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames.write(out, Frames.SHUTDOWN, new byte[0]);
        assertThat(HEX.formatHex(out.toByteArray())).isEqualTo("534d010700000000");
    }

    @Test
    void oneFp32TensorEncodesToTheDocumentedPayload() throws Exception {
        Tensor x = Tensor.ofFloats("X", new long[]{1, 2}, 1.0f, 2.0f);
        String golden = "01000100580a020100000000000000020000000000000008000000000000000000803f00000040";
        assertThat(HEX.formatHex(Frames.encodeTensors(List.of(x)))).isEqualTo(golden);
        assertThat(Frames.decodeTensors(HEX.parseHex(golden))).containsExactly(x);
    }

    @Test
    void bytesAndIntegerTensorsRoundTrip() throws Exception {
        Tensor words = Tensor.ofBytes("words", new long[]{2}, List.of("héllo".getBytes(), new byte[0]));
        ByteBuffer longs = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1).putLong(7).flip();
        Tensor ids = Tensor.of("ids", DataType.INT64, new long[]{2, 1}, longs);
        assertThat(Frames.decodeTensors(Frames.encodeTensors(List.of(words, ids)))).containsExactly(words, ids);
    }

    @Test
    void aFrameIsReadBackWithItsTypeAndPayload() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames.write(out, Frames.LOAD, "{\"a\":1}".getBytes());
        Frames.Frame frame = Frames.read(new ByteArrayInputStream(out.toByteArray()), 1024);
        assertThat(frame.type()).isEqualTo(Frames.LOAD);
        assertThat(new String(frame.payload())).isEqualTo("{\"a\":1}");
    }

    @Test
    void badMagicWrongVersionAndOversizedFramesAreProtocolErrors() {
        assertThatThrownBy(() -> Frames.read(new ByteArrayInputStream(HEX.parseHex("584d010700000000")), 16))
                .isInstanceOf(Frames.ProtocolException.class).hasMessageContaining("magic");
        assertThatThrownBy(() -> Frames.read(new ByteArrayInputStream(HEX.parseHex("534d020700000000")), 16))
                .isInstanceOf(Frames.ProtocolException.class).hasMessageContaining("version 2");
        assertThatThrownBy(() -> Frames.read(new ByteArrayInputStream(HEX.parseHex("534d010511000000")), 16))
                .isInstanceOf(Frames.ProtocolException.class).hasMessageContaining("17 bytes exceeds the maximum of 16");
        assertThatThrownBy(() -> Frames.read(new ByteArrayInputStream(HEX.parseHex("534d0105")), 16))
                .isInstanceOf(EOFException.class);
    }

    @Test
    void malformedTensorPayloadsAreProtocolErrors() {
        String golden = "01000100580a020100000000000000020000000000000008000000000000000000803f00000040";
        assertThatThrownBy(() -> Frames.decodeTensors(HEX.parseHex(golden.substring(0, golden.length() - 2))))
                .isInstanceOf(Frames.ProtocolException.class);
        assertThatThrownBy(() -> Frames.decodeTensors(HEX.parseHex(golden + "00")))
                .isInstanceOf(Frames.ProtocolException.class).hasMessageContaining("trailing");
        assertThatThrownBy(() -> Frames.decodeTensors(HEX.parseHex("01000100580f00" + "0000000000000000")))
                .isInstanceOf(Frames.ProtocolException.class).hasMessageContaining("datatype code 15");
    }
}
