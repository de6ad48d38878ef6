package dev.serveml.http;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link UploadReceiver#baseName}: a client's file name is kept for display only, never as a path. */
class UploadReceiverTest {

    @Test
    void keepsAPlainFileName() {
        assertThat(UploadReceiver.baseName("iris.onnx")).isEqualTo("iris.onnx");
    }

    @Test
    void stripsUnixDirectories() {
        assertThat(UploadReceiver.baseName("/home/ann/models/iris.onnx")).isEqualTo("iris.onnx");
        assertThat(UploadReceiver.baseName("../../etc/passwd")).isEqualTo("passwd");
    }

    @Test
    void stripsWindowsDirectories() {
        assertThat(UploadReceiver.baseName("C:\\Users\\ann\\iris.onnx")).isEqualTo("iris.onnx");
        assertThat(UploadReceiver.baseName("..\\..\\boot.ini")).isEqualTo("boot.ini");
    }

    @Test
    void stripsControlCharacters() {
        assertThat(UploadReceiver.baseName("ir\u0000is\r\n.on\u001bnx\u007f")).isEqualTo("iris.onnx");
    }

    @Test
    void stripsDirectoriesWhoseNamesContainLineBreaks() {
        assertThat(UploadReceiver.baseName("evil\n/iris.onnx")).isEqualTo("iris.onnx");
        assertThat(UploadReceiver.baseName("C:\\a\r\nb\\iris.onnx")).isEqualTo("iris.onnx");
    }

    @Test
    void namesAnEmptyOrDirectoryOnlyNameUpload() {
        assertThat(UploadReceiver.baseName(null)).isEqualTo("upload");
        assertThat(UploadReceiver.baseName("")).isEqualTo("upload");
        assertThat(UploadReceiver.baseName("   ")).isEqualTo("upload");
        assertThat(UploadReceiver.baseName("models/")).isEqualTo("upload");
        assertThat(UploadReceiver.baseName("\u0000\u0001")).isEqualTo("upload");
    }

    @Test
    void keepsTheLast200CharactersOfALongName() {
        String name = "a".repeat(250) + ".onnx";

        assertThat(UploadReceiver.baseName(name)).isEqualTo("a".repeat(195) + ".onnx");
    }
}
