package dev.serveml.imports;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.serveml.artifacts.StagedUpload;
import dev.serveml.hub.Snapshot;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The archive a Hub import registers (issue 14's contract 1): the snapshot's chosen files under
 * their repository paths, stored (ONNX weights do not compress), and {@code serveml.json} at the
 * root naming the task override, the Hub's tag, the source and the pinned commit. The registry
 * then treats it exactly as an uploaded repository zip.
 */
final class ImportArchive {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String MANIFEST = "serveml.json";

    private ImportArchive() {
    }

    /**
     * Writes the zip into {@code directory} and stages it; on failure nothing is left there.
     *
     * @param task the caller's task, empty to let the repository decide
     */
    static StagedUpload write(Snapshot snapshot, Optional<String> task, Path directory, String fileName)
            throws IOException {
        Files.createDirectories(directory);
        Path file = Files.createTempFile(directory, "import-", ".upload");
        try {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            try (OutputStream raw = Files.newOutputStream(file);
                 DigestOutputStream digest = new DigestOutputStream(new BufferedOutputStream(raw, 1 << 16), sha256);
                 ZipOutputStream zip = new ZipOutputStream(digest)) {
                zip.setMethod(ZipOutputStream.STORED);
                store(zip, MANIFEST, manifest(snapshot, task));
                for (Map.Entry<String, Path> f : snapshot.files().entrySet()) {
                    store(zip, f.getKey(), f.getValue());
                }
            }
            byte[] head;
            try (InputStream in = Files.newInputStream(file)) {
                head = in.readNBytes(64);
            }
            return new StagedUpload(file, fileName, Files.size(file), StagedUpload.hex(sha256.digest()), head,
                    Optional.empty());
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        } catch (NoSuchAlgorithmException e) {
            Files.deleteIfExists(file);
            throw new IllegalStateException(e);
        }
    }

    static byte[] manifest(Snapshot snapshot, Optional<String> task) {
        ObjectNode m = JSON.createObjectNode();
        task.ifPresent(t -> m.put("task", t));
        snapshot.pipelineTag().ifPresent(t -> m.put("pipeline_tag", t));
        m.put("source", "hf://" + snapshot.repo().id());
        m.put("commit", snapshot.commit());
        return m.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void store(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        ZipEntry e = entry(name, bytes.length, crc.getValue());
        zip.putNextEntry(e);
        zip.write(bytes);
        zip.closeEntry();
    }

    /** A stored entry needs its size and CRC before its bytes: the file is read twice. */
    private static void store(ZipOutputStream zip, String name, Path path) throws IOException {
        CRC32 crc = new CRC32();
        byte[] buffer = new byte[1 << 16];
        long size = 0;
        try (InputStream in = Files.newInputStream(path)) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                crc.update(buffer, 0, n);
                size += n;
            }
        }
        zip.putNextEntry(entry(name, size, crc.getValue()));
        try (InputStream in = Files.newInputStream(path)) {
            in.transferTo(zip);
        }
        zip.closeEntry();
    }

    private static ZipEntry entry(String name, long size, long crc) {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(size);
        e.setCompressedSize(size);
        e.setCrc(crc);
        e.setTime(0);
        return e;
    }
}
