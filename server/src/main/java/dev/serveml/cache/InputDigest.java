package dev.serveml.cache;

import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * The canonical SHA-256 of a request: inputs in name order (name, element type, shape, raw
 * little-endian elements), then the requested output names in order, then the call's parameters
 * in their canonical form when there are any (so {@code top_k=1} and {@code top_k=2} differ, and a
 * request without parameters keeps the digest it always had). Every variable-length part
 * is length-prefixed, so no two different requests share an encoding. The order in which a client
 * lists inputs or outputs does not matter; JSON vs binary tensors do not matter either (both bind
 * to the same raw bytes).
 */
final class InputDigest {
    private static final HexFormat HEX = HexFormat.of();

    private InputDigest() {
    }

    static String of(List<Tensor> inputs, Set<String> outputs) {
        return of(inputs, outputs, Parameters.NONE);
    }

    static String of(List<Tensor> inputs, Set<String> outputs, Parameters parameters) {
        MessageDigest sha = sha256();
        List<Tensor> sorted = new ArrayList<>(inputs);
        sorted.sort(Comparator.comparing(Tensor::name));
        ByteBuffer header = ByteBuffer.allocate(16);
        putLong(sha, header, sorted.size());
        for (Tensor t : sorted) {
            putText(sha, header, t.name());
            putText(sha, header, t.datatype().name());
            putLong(sha, header, t.shape().length);
            for (long d : t.shape()) {
                putLong(sha, header, d);
            }
            if (t.datatype() == DataType.BYTES) {
                for (byte[] element : t.bytes()) {
                    putLong(sha, header, element.length);
                    sha.update(element);
                }
            } else {
                putLong(sha, header, t.data().remaining());
                sha.update(t.data().duplicate());
            }
        }
        List<String> names = new ArrayList<>(outputs);
        names.sort(null);
        putLong(sha, header, names.size());
        for (String name : names) {
            putText(sha, header, name);
        }
        if (!parameters.isEmpty()) {
            putText(sha, header, parameters.canonical());
        }
        return HEX.formatHex(sha.digest());
    }

    private static void putText(MessageDigest sha, ByteBuffer header, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        putLong(sha, header, bytes.length);
        sha.update(bytes);
    }

    private static void putLong(MessageDigest sha, ByteBuffer header, long value) {
        header.clear();
        header.putLong(value).flip();
        sha.update(header);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
