package dev.serveml.runtime.onnx;

import com.google.protobuf.CodedOutputStream;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The external-data check on real ONNX files (the fixtures make_fixtures.py writes with onnx's own
 * protobuf classes) and on hand-built ones for the path rules.
 */
class ExternalDataTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "external_secret.onnx    | initializer 'stolen' | '..'",
            "external_artifacts.onnx | initializer 'stolen' | '..'",
            "external_absolute.onnx  | initializer 'passwd' | absolute path",
            "external_missing.onnx   | initializer 'weights' | is not in the upload",
            "external_constant.onnx  | tensor 'stolen_const' in attribute 'value' of node 'leak' (Constant) | '..'",
            "external_subgraph.onnx  | tensor 'stolen_then' in attribute 'value' of node 'then_leak' (Constant) in "
                    + "the subgraph of attribute 'then_branch' of node 'branch' (If) | '..'",
            "external_sparse.onnx    | sparse initializer 'stolen_values' | '..'",
            "external_function.onnx  | tensor 'stolen_fn' in attribute 'value' of node '' (Constant) in function "
                    + "'Leak' | absolute path",
    })
    void refusesEveryTensorWhoseDataLivesOutsideTheModelWhereverItSits(String fixture, String tensor, String why) {
        Path model = copy(fixture, dir.resolve("model.onnx"));

        assertRefused(model, tensor, why);
    }

    @Test
    void acceptsOptimumsModelBesideItsDataFile() {
        Path model = unzip("external_ok.zip", dir).resolve("model.onnx");

        assertThatCode(() -> ExternalData.check(model)).doesNotThrowAnyException();
    }

    @Test
    void acceptsModelsWithoutExternalData() {
        Path model = copy("iris_rf.onnx", dir.resolve("model.onnx"));

        assertThatCode(() -> ExternalData.check(model)).doesNotThrowAnyException();
    }

    @Test
    void refusesADataFileThatIsASymbolicLinkToASecret() throws IOException {
        Path model = unzip("external_ok.zip", dir).resolve("model.onnx");
        Path secret = Files.writeString(Files.createTempDirectory(dir.getParent(), "secrets").resolve("jwt.key"),
                "x".repeat(64));
        Files.delete(dir.resolve("model.onnx_data"));
        Files.createSymbolicLink(dir.resolve("model.onnx_data"), secret);

        assertRefused(model, "initializer 'W'", "symbolic link");
    }

    @Test
    void refusesADataFileReachedThroughALinkedDirectory() throws IOException {
        Path outside = Files.createTempDirectory(dir.getParent(), "outside");
        Files.write(outside.resolve("w.bin"), new byte[64]);
        Files.createSymbolicLink(dir.resolve("weights"), outside);
        Path model = write(dir.resolve("model.onnx"), initializer("W", "weights/w.bin", 16));

        assertRefused(model, "initializer 'W'", "symbolic link out of the model's directory");
    }

    @Test
    void acceptsADataFileInAFolderBesideTheModel() throws IOException {
        Files.createDirectories(dir.resolve("weights"));
        Files.write(dir.resolve("weights").resolve("w.bin"), new byte[64]);
        Path model = write(dir.resolve("model.onnx"), initializer("W", "weights/w.bin", 16));

        assertThatCode(() -> ExternalData.check(model)).doesNotThrowAnyException();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "../secrets/jwt.key         | '..'",
            "data/../../x               | '..'",
            "/work/data/secrets/jwt.key | absolute path",
            "..\\\\secrets\\\\jwt.key   | backslash",
            "C:x                        | colon",
            "*/_ORT_MEM_ADDR_/*         | is not in the upload",
            "./model.onnx_data          | not a normalized relative path",
            "a//b                       | not a normalized relative path",
            "model.onnx_data/           | not a normalized relative path",
            "nothing_here.bin           | is not in the upload",
    })
    void refusesLocationsThatAreNotPlainRelativePathsToAnUploadedFile(String location, String why) throws IOException {
        Files.write(dir.resolve("model.onnx_data"), new byte[64]);
        Path model = write(dir.resolve("model.onnx"), initializer("W", location.strip(), 16));

        assertRefused(model, "initializer 'W'", why);
    }

    @Test
    void refusesALocationWithAControlCharacterAndShowsItHarmlessly() throws IOException {
        Path model = write(dir.resolve("model.onnx"), initializer("W", "model.onnx_data\n/etc/passwd", 16));

        ProblemException e = refusal(model);
        assertThat(e.detail()).contains("control character").doesNotContain("\n");
    }

    @Test
    void refusesAnEmptyOrOverlongLocation() throws IOException {
        assertRefused(write(dir.resolve("a.onnx"), initializer("W", "", 16)), "initializer 'W'", "is empty");
        assertRefused(write(dir.resolve("b.onnx"), initializer("W", "a/".repeat(3000) + "b", 16)), "initializer 'W'",
                "longer than 4096 bytes");
    }

    @Test
    void refusesExternalDataThatNamesNoFile() throws IOException {
        byte[] tensor = message(f(8, "W"), f(14, 1));
        Path model = write(dir.resolve("model.onnx"), model(graph(f(5, tensor))));

        assertRefused(model, "initializer 'W'", "names no file");
    }

    @Test
    void refusesAnOffsetOrLengthPastTheEndOfTheDataFile() throws IOException {
        Files.write(dir.resolve("model.onnx_data"), new byte[64]);
        byte[] pastEnd = message(f(8, "W"), entry("location", "model.onnx_data"), entry("offset", "60"),
                entry("length", "16"), f(14, 1));
        byte[] negative = message(f(8, "V"), entry("location", "model.onnx_data"), entry("offset", "-1"), f(14, 1));

        assertRefused(write(dir.resolve("a.onnx"), model(graph(f(5, pastEnd)))), "initializer 'W'",
                "runs past the end of 'model.onnx_data' (64 bytes)");
        assertRefused(write(dir.resolve("b.onnx"), model(graph(f(5, negative)))), "initializer 'V'",
                "offset '-1' is not a non-negative whole number");
    }

    @Test
    void checksEveryLocationEntryOfATensorNotOnlyTheFirst() throws IOException {
        Files.write(dir.resolve("model.onnx_data"), new byte[64]);
        byte[] tensor = message(f(8, "W"), entry("location", "model.onnx_data"), entry("location", "/etc/passwd"),
                f(14, 1));

        assertRefused(write(dir.resolve("model.onnx"), model(graph(f(5, tensor)))), "initializer 'W'",
                "absolute path");
    }

    @Test
    void refusesExternalDataEntriesEvenWithoutTheExternalFlag() throws IOException {
        byte[] tensor = message(f(8, "W"), entry("location", "/etc/passwd"));

        assertRefused(write(dir.resolve("model.onnx"), model(graph(f(5, tensor)))), "initializer 'W'",
                "absolute path");
    }

    @Test
    void findsTensorsInGraphsNestedInsideLoopBodiesAndGraphListsAndTrainingInfo() throws IOException {
        byte[] evil = message(f(8, "deep"), entry("location", "/etc/passwd"), f(14, 1));
        byte[] inner = graph(f(5, evil));
        byte[] loop = message(f(3, "loop"), f(4, "Loop"), f(5, message(f(1, "body"), f(6, inner))));
        byte[] scan = message(f(3, "scan"), f(4, "Scan"), f(5, message(f(1, "bodies"), f(11, graph(f(1, loop))))));

        assertRefused(write(dir.resolve("a.onnx"), model(graph(f(1, scan)))),
                "initializer 'deep' in the subgraph of attribute 'body' of node 'loop' (Loop) in the subgraph of "
                        + "attribute 'bodies' of node 'scan' (Scan)", "absolute path");
        byte[] training = message(f(7, graph()), f(20, message(f(2, inner))));
        assertRefused(write(dir.resolve("b.onnx"), training), "initializer 'deep' in the training algorithm graph",
                "absolute path");
        byte[] sparseAttribute = message(f(3, "c"), f(4, "Constant"),
                f(5, message(f(1, "sparse_value"), f(22, message(f(1, evil))))));
        assertRefused(write(dir.resolve("c.onnx"), model(graph(f(1, sparseAttribute)))),
                "sparse tensor 'deep' in attribute 'sparse_value' of node 'c' (Constant)", "absolute path");
        byte[] tensorList = message(f(3, "t"), f(4, "Custom"), f(5, message(f(1, "many"), f(10, evil))));
        assertRefused(write(dir.resolve("d.onnx"), model(graph(f(1, tensorList)))),
                "tensor 'deep' in attribute 'many' of node 't' (Custom)", "absolute path");
        byte[] function = message(f(1, "F"), f(11, message(f(1, "default"), f(5, evil))));
        assertRefused(write(dir.resolve("e.onnx"), message(f(7, graph()), f(25, function))),
                "tensor 'deep' in the default of attribute 'default' in function 'F'", "absolute path");
    }

    @Test
    void refusesGraphsNestedPastTheRecursionLimit() throws IOException {
        byte[] graph = graph();
        for (int i = 0; i < ExternalData.MAX_DEPTH; i++) {
            graph = graph(f(1, message(f(5, message(f(6, graph))))));
        }

        assertRefused(write(dir.resolve("model.onnx"), model(graph)), "", "levels deep");
    }

    @ParameterizedTest
    @ValueSource(strings = {"not_a_model.onnx", "truncated.onnx"})
    void refusesFilesThatAreNotReadableProtobufAsInvalidModels(String fixture) {
        Path model = copy(fixture, dir.resolve("model.onnx"));

        assertRefused(model, "", "could not load the file as an ONNX model");
    }

    @Test
    void skipsLargeWeightsWithoutReadingThemAsText() throws IOException {
        byte[] weights = new byte[8 << 20];
        byte[] tensor = message(f(8, "big"), f(1, 1 << 21), f(2, 1), f(9, weights));

        assertThatCode(() -> ExternalData.check(write(dir.resolve("model.onnx"), model(graph(f(5, tensor))))))
                .doesNotThrowAnyException();
    }

    private static void assertRefused(Path model, String tensor, String why) {
        ProblemException e = refusal(model);
        assertThat(e.detail()).contains(tensor).contains(why).doesNotContain(model.getParent().toString());
    }

    private static ProblemException refusal(Path model) {
        Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> ExternalData.check(model));
        assertThat(thrown).isInstanceOf(ProblemException.class);
        ProblemException e = (ProblemException) thrown;
        assertThat(e.type()).isEqualTo(ProblemType.INVALID_MODEL);
        return e;
    }

    // --- a few protobuf messages, written with protobuf's own encoder ---

    /** A field: its number and a String, an Integer (varint) or a byte[] (bytes or an embedded message). */
    private record Field(int number, Object value) {
    }

    private static Field f(int number, Object value) {
        return new Field(number, value);
    }

    private static byte[] message(Field... fields) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        try {
            for (Field field : fields) {
                switch (field.value()) {
                    case String s -> out.writeString(field.number(), s);
                    case Integer i -> out.writeInt64(field.number(), i);
                    case byte[] b -> out.writeByteArray(field.number(), b);
                    default -> throw new IllegalArgumentException(field.toString());
                }
            }
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static byte[] model(byte[] graph) {
        return message(f(1, 8), f(7, graph));
    }

    private static byte[] graph(Field... fields) {
        return message(fields);
    }

    private static Field entry(String key, String value) {
        return f(13, message(f(1, key), f(2, value)));
    }

    /** A model whose only initializer keeps {@code length} bytes at {@code location}. */
    private static byte[] initializer(String name, String location, int length) {
        byte[] tensor = message(f(1, length), f(2, 2), f(8, name), entry("location", location), entry("offset", "0"),
                entry("length", Integer.toString(length)), f(14, 1));
        return model(graph(f(5, tensor)));
    }

    private static Path write(Path file, byte[] bytes) throws IOException {
        return Files.write(file, bytes);
    }

    private static Path copy(String fixture, Path to) {
        try (InputStream in = ExternalDataTest.class.getResourceAsStream("/fixtures/" + fixture)) {
            Files.copy(in, to);
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path unzip(String fixture, Path to) {
        try (ZipInputStream zip = new ZipInputStream(ExternalDataTest.class.getResourceAsStream("/fixtures/" + fixture))) {
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                Files.copy(zip, to.resolve(e.getName()));
            }
            return to;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
