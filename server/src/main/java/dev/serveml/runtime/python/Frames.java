package dev.serveml.runtime.python;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Tensor;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The Java side of the worker protocol, version 1 (see {@code serveml_worker/PROTOCOL.md}): frames
 * of magic, version, type, length and payload, and the binary tensor payload. Pure functions over
 * streams and byte arrays; all integers little-endian.
 */
final class Frames {
    static final int VERSION = 1;
    static final int HELLO = 0x01;
    static final int LOAD = 0x02;
    static final int LOADED = 0x03;
    static final int PREDICT = 0x04;
    static final int RESULT = 0x05;
    static final int ERROR = 0x06;
    static final int SHUTDOWN = 0x07;

    private static final byte MAGIC_0 = 0x53;
    private static final byte MAGIC_1 = 0x4D;
    /** Datatype codes on the wire, indexed by code. */
    private static final DataType[] CODES = {DataType.BOOL, DataType.UINT8, DataType.UINT16, DataType.UINT32,
            DataType.UINT64, DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64, DataType.FP16,
            DataType.FP32, DataType.FP64, DataType.BYTES};

    /** One received frame. */
    record Frame(int type, byte[] payload) {
    }

    /** The stream broke the protocol; the connection cannot be trusted any more. */
    static final class ProtocolException extends IOException {
        ProtocolException(String message) {
            super(message);
        }
    }

    private Frames() {
    }

    static byte[] header(int type, int length) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                .put(MAGIC_0).put(MAGIC_1).put((byte) VERSION).put((byte) type).putInt(length).array();
    }

    static void write(OutputStream out, int type, byte[] payload) throws IOException {
        out.write(header(type, payload.length));
        out.write(payload);
        out.flush();
    }

    /**
     * Reads one frame.
     *
     * @throws EOFException      when the peer closed the connection
     * @throws ProtocolException on a bad magic, version or an oversized frame
     */
    static Frame read(InputStream in, int maxFrame) throws IOException {
        DataInputStream data = new DataInputStream(in);
        byte[] header = new byte[8];
        data.readFully(header);
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        if (h.get(0) != MAGIC_0 || h.get(1) != MAGIC_1) {
            throw new ProtocolException("bad frame magic");
        }
        if (h.get(2) != VERSION) {
            throw new ProtocolException("worker speaks protocol version " + h.get(2) + ", expected " + VERSION);
        }
        long length = Integer.toUnsignedLong(h.getInt(4));
        if (length > maxFrame) {
            throw new ProtocolException("frame of " + length + " bytes exceeds the maximum of " + maxFrame);
        }
        byte[] payload = new byte[(int) length];
        data.readFully(payload);
        return new Frame(h.get(3) & 0xFF, payload);
    }

    static int code(DataType type) {
        for (int i = 0; i < CODES.length; i++) {
            if (CODES[i] == type) {
                return i;
            }
        }
        throw new IllegalArgumentException(type.name());
    }

    static byte[] encodeTensors(List<Tensor> tensors) {
        int size = 2;
        List<byte[]> raws = new ArrayList<>(tensors.size());
        for (Tensor t : tensors) {
            byte[] raw = t.rawBytes();
            raws.add(raw);
            size += 2 + t.name().getBytes(StandardCharsets.UTF_8).length + 2 + 8 * t.shape().length + 8 + raw.length;
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.putShort((short) tensors.size());
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
            out.putShort((short) name.length).put(name);
            out.put((byte) code(t.datatype())).put((byte) t.shape().length);
            for (long d : t.shape()) {
                out.putLong(d);
            }
            out.putLong(raws.get(i).length).put(raws.get(i));
        }
        return out.array();
    }

    static List<Tensor> decodeTensors(byte[] payload) throws ProtocolException {
        try {
            ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
            int count = Short.toUnsignedInt(in.getShort());
            List<Tensor> tensors = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                byte[] name = new byte[Short.toUnsignedInt(in.getShort())];
                in.get(name);
                int code = Byte.toUnsignedInt(in.get());
                if (code >= CODES.length) {
                    throw new ProtocolException("unknown datatype code " + code);
                }
                long[] shape = new long[Byte.toUnsignedInt(in.get())];
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = in.getLong();
                }
                long length = in.getLong();
                if (length < 0 || length > in.remaining()) {
                    throw new ProtocolException("tensor data runs past the end of the frame");
                }
                byte[] data = new byte[(int) length];
                in.get(data);
                tensors.add(Tensor.fromRawBytes(new String(name, StandardCharsets.UTF_8), CODES[code], shape, data, 0,
                        data.length));
            }
            if (in.hasRemaining()) {
                throw new ProtocolException(in.remaining() + " trailing bytes after the tensors");
            }
            return tensors;
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException | ArithmeticException e) {
            throw new ProtocolException("malformed tensor payload: " + e.getMessage());
        }
    }
}
