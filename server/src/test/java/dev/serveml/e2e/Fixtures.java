package dev.serveml.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Model archives that ITs build in code (the generated files are read with {@link
 * TestServer#fixture}), and what several ITs read from them, so that no IT borrows another's.
 */
final class Fixtures {
    private Fixtures() {
    }

    /** A zip archive of these files (name to UTF-8 text), as a tenant would upload one. */
    static byte[] zip(Map<String, String> files) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, String> f : files.entrySet()) {
                zip.putNextEntry(new ZipEntry(f.getKey()));
                zip.write(f.getValue().getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * A Python handler archive (y = x + 1) whose load takes {@code loadSeconds}; {@code tag} makes
     * each archive's bytes different.
     */
    static byte[] slowHandler(String tag, double loadSeconds) {
        return zip(Map.of("handler.py", """
                import time
                import numpy as np
                # %s
                SIGNATURE = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}],
                             "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1, 1], "kind": "tensor"}]}
                def load(model_dir):
                    time.sleep(%s)
                def predict(inputs):
                    return {"y": np.asarray(inputs["x"], dtype=np.float64) + 1}
                """.formatted(tag, loadSeconds)));
    }

    /** The hex SHA-256 of {@code bytes}: how the artifact store names a file. */
    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The first "doubled" value of a 200 answer of the handler fixture (python/handler_model.zip). */
    static double firstDoubled(HttpResponse<String> r) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r).get("predictions").get(0).get("doubled").get(0).asDouble();
    }
}
