package dev.serveml.e2e;

import dev.serveml.server.Launcher;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code java -jar serveml.jar} on a JVM older than 21 says so in one sentence, not with a stack trace. */
class JavaVersionIT {
    private static final Path JAVA_17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64/bin/java");

    @Test
    void theEntryPointIsCompiledForJava8AndTheJarStartsThere() throws Exception {
        try (InputStream in = Launcher.class.getResourceAsStream("Launcher.class")) {
            DataInputStream data = new DataInputStream(in);
            assertThat(data.readInt()).isEqualTo(0xCAFEBABE);
            data.readUnsignedShort();
            assertThat(data.readUnsignedShort()).as("class file major version").isEqualTo(52);
        }
        Path jar = jar();
        Assumptions.assumeTrue(Files.exists(jar), "skipped: " + jar + " is not built (mvn package)");
        try (JarFile file = new JarFile(jar.toFile())) {
            assertThat(file.getManifest().getMainAttributes().getValue("Main-Class"))
                    .isEqualTo("dev.serveml.server.Launcher");
        }
    }

    @Test
    void onJava17TheJarSaysJava21IsNeededAndWhereToGetIt() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(JAVA_17), "skipped: no Java 17 at " + JAVA_17);
        Path jar = jar();
        List<String> command = new ArrayList<>(List.of(JAVA_17.toString()));
        if (Files.exists(jar)) {
            command.addAll(List.of("-jar", jar.toString()));
        } else {
            command.addAll(List.of("-cp", classes().toString(), Launcher.class.getName()));
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(p.exitValue()).isEqualTo(1);
        assertThat(out).contains("ServeML needs Java 21 or newer; this is Java 17", "README")
                .doesNotContain("UnsupportedClassVersionError", "Exception");
    }

    private static Path classes() throws Exception {
        return Path.of(Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** server/target/serveml.jar, beside target/classes. */
    private static Path jar() throws Exception {
        return classes().resolveSibling("serveml.jar");
    }
}
