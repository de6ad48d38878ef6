package dev.serveml.server;

import dev.serveml.config.ConfigException;
import dev.serveml.config.ConfigLoader;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @Test
    void theConfigCommandPrintsTheEffectiveConfigurationWithSecretsMaskedAndExitsZero() {
        int status = Main.printConfig(() -> ConfigLoader.list(Map.of("SERVEML_ADMIN_PASSWORD", "s3cret-admin")),
                stream(out), stream(err));

        assertThat(status).isZero();
        assertThat(text(out)).contains("SERVEML_HTTP_PORT=8080\n", "SERVEML_ADMIN_PASSWORD=***\n")
                .doesNotContain("s3cret");
        assertThat(text(err)).isEmpty();
    }

    @Test
    void theConfigCommandListsTheProblemsAStartWouldHaveAndExitsTwo() {
        int status = Main.printConfig(() -> ConfigLoader.list(Map.of("SERVEML_HTTP_PROT", "1")), stream(out),
                stream(err));

        assertThat(status).isEqualTo(2);
        assertThat(text(out)).isEmpty();
        assertThat(text(err)).contains("SERVEML_HTTP_PROT: unknown setting; did you mean SERVEML_HTTP_PORT?");
    }

    @Test
    void aConfigExceptionFromTheListingIsNotThrownOn() {
        assertThat(Main.printConfig(() -> {
            throw new ConfigException(List.of("x"));
        }, stream(out), stream(err))).isEqualTo(2);
    }

    private static PrintStream stream(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    private static String text(ByteArrayOutputStream bytes) {
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
