package dev.serveml.runtime.text;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A Hub repository directory zipped as a user would upload it: its files under one folder, with
 * some replaced or added (an attack's {@code onnx/model.onnx}, a huge {@code config.json}).
 */
public final class RepoZip {
    private final Map<String, byte[]> entries = new LinkedHashMap<>();

    private RepoZip() {
    }

    /** The files of {@code fixtures/hf/<name>} under the folder {@code <name>/}. */
    public static RepoZip of(String name) {
        RepoZip zip = new RepoZip();
        Path repo = HfFixtures.load().repo(name);
        try (Stream<Path> files = Files.walk(repo)) {
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                zip.entries.put(name + "/" + repo.relativize(file), Files.readAllBytes(file));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return zip;
    }

    /** Replaces or adds the entry at {@code path}, relative to the archive's root. */
    public RepoZip with(String path, byte[] content) {
        entries.put(path, content);
        return this;
    }

    public RepoZip without(String path) {
        entries.remove(path);
        return this;
    }

    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    public byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public Path write(Path file) {
        try {
            return Files.write(file, bytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
