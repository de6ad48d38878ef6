package dev.serveml.cache;

import dev.serveml.tensor.DataType;
import dev.serveml.tensor.MapSequence;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The compact binary form of an answer kept in Redis: a format byte, then per output its kind,
 * name and either a tensor (element type, shape, raw elements in {@link Tensor#rawBytes()}'s
 * layout) or a sequence of maps (rows of label/score pairs). Readers refuse any other format
 * byte, so a future layout change reads as a miss, not as garbage.
 */
final class AnswerCodec {
    static final int FORMAT = 1;
    private static final int TENSOR = 0;
    private static final int MAPS = 1;
    private static final DataType[] TYPES = DataType.values();

    private AnswerCodec() {
    }

    static byte[] encode(Map<String, Output> outputs) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(FORMAT);
            out.writeInt(outputs.size());
            for (Output o : outputs.values()) {
                switch (o) {
                    case Tensor t -> {
                        out.writeByte(TENSOR);
                        out.writeUTF(t.name());
                        out.writeByte(t.datatype().ordinal());
                        out.writeByte(t.shape().length);
                        for (long d : t.shape()) {
                            out.writeLong(d);
                        }
                        byte[] raw = t.rawBytes();
                        out.writeInt(raw.length);
                        out.write(raw);
                    }
                    case MapSequence m -> {
                        out.writeByte(MAPS);
                        out.writeUTF(m.name());
                        out.writeInt(m.rows().size());
                        for (Map<String, Double> row : m.rows()) {
                            out.writeInt(row.size());
                            for (Map.Entry<String, Double> e : row.entrySet()) {
                                out.writeUTF(e.getKey());
                                out.writeDouble(e.getValue());
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** @throws IllegalArgumentException when the bytes are not an answer in this format */
    static Map<String, Output> decode(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            if (in.readUnsignedByte() != FORMAT) {
                throw new IllegalArgumentException("unknown cached answer format");
            }
            int count = in.readInt();
            Map<String, Output> outputs = new LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                int kind = in.readUnsignedByte();
                String name = in.readUTF();
                if (kind == TENSOR) {
                    DataType type = TYPES[in.readUnsignedByte()];
                    long[] shape = new long[in.readUnsignedByte()];
                    for (int d = 0; d < shape.length; d++) {
                        shape[d] = in.readLong();
                    }
                    byte[] raw = new byte[in.readInt()];
                    in.readFully(raw);
                    outputs.put(name, Tensor.fromRawBytes(name, type, shape, raw, 0, raw.length));
                } else if (kind == MAPS) {
                    int rows = in.readInt();
                    List<Map<String, Double>> list = new ArrayList<>(rows);
                    for (int r = 0; r < rows; r++) {
                        int size = in.readInt();
                        Map<String, Double> row = new LinkedHashMap<>();
                        for (int k = 0; k < size; k++) {
                            row.put(in.readUTF(), in.readDouble());
                        }
                        list.add(row);
                    }
                    outputs.put(name, new MapSequence(name, list));
                } else {
                    throw new IllegalArgumentException("unknown output kind " + kind);
                }
            }
            if (in.available() > 0) {
                throw new IllegalArgumentException("trailing bytes after the cached answer");
            }
            return outputs;
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("unreadable cached answer: " + e.getMessage(), e);
        }
    }
}
