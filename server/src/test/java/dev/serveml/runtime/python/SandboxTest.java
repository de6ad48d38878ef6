package dev.serveml.runtime.python;

import dev.serveml.config.ConfigLoader;
import dev.serveml.config.PythonConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The bubblewrap options a jail becomes (written, not run: PythonSandboxIT runs them). */
class SandboxTest {
    @TempDir
    Path data;

    private PythonConfig config(Map<String, String> extra) {
        Map<String, String> env = new java.util.HashMap<>(extra);
        env.put("SERVEML_DATA_DIR", data.toString());
        return ConfigLoader.load(env).python();
    }

    private List<String> options(Sandbox sandbox, Sandbox.Jail jail, Path scratch) throws IOException {
        ProcessBuilder pb = sandbox.command(jail, scratch);
        assertThat(pb.environment()).as("bwrap's own environment").isEmpty();
        assertThat(String.join(" ", pb.command())).doesNotContain("s3cret");
        byte[] raw = Files.readAllBytes(scratch.resolve("bwrap.args"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(scratch.resolve("bwrap.args"))))
                .isEqualTo("rw-------");
        return new ArrayList<>(Arrays.asList(new String(raw, StandardCharsets.UTF_8).split("\0")));
    }

    @Test
    void aJailSeesOnlyUsrAFewEtcFilesItsBindsAndAPrivateTmpAsAnUnprivilegedUser() throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/bwrap")), "bubblewrap is not installed");
        PythonConfig config = config(Map.of());
        Sandbox sandbox = new Sandbox(config, data.resolve("python/run/sandbox"));
        Path model = Files.createDirectories(data.resolve("python/run/models/m1"));
        List<String> args = options(sandbox, new Sandbox.Jail(List.of("/usr/bin/python3", "-m", "serveml_worker"),
                Map.of("TENANT_TOKEN", "s3cret"), List.of(Sandbox.Bind.readOnly(model, "/serveml/model")), false,
                Optional.empty(), 1 << 20), data.resolve("python/run/sockets/s1"));

        assertThat(args).containsSubsequence("--unshare-all", "--unshare-user", "--disable-userns", "--uid", "65534",
                "--gid", "65534", "--cap-drop", "ALL", "--die-with-parent", "--new-session");
        assertThat(args).doesNotContain("--share-net");
        assertThat(String.join(" ", args)).contains("--ro-bind /usr /usr", "--ro-bind " + model + " /serveml/model",
                "--size 1048576 --perms 1777 --tmpfs /tmp", "--remount-ro / --chdir /tmp --clearenv",
                "--setenv TENANT_TOKEN s3cret");
        if (System.getProperty("os.arch").equals("amd64")) {
            assertThat(String.join(" ", args)).endsWith("--seccomp 4");
        }
        // Every bind's source is /usr, an /etc file, ServeML's own sandbox files, or what the jail named.
        for (int i = 0; i < args.size(); i++) {
            if (args.get(i).equals("--ro-bind") || args.get(i).equals("--bind")) {
                Path source = Path.of(args.get(i + 1));
                assertThat(source).as("bind source").isNotEqualTo(Path.of("/")).isNotEqualTo(data)
                        .isNotEqualTo(Path.of("/etc")).isNotEqualTo(Path.of("/tmp"));
                assertThat(source.startsWith("/usr") || source.startsWith("/etc/")
                        || source.startsWith(data.resolve("python/run/sandbox")) || source.equals(model))
                        .as(source.toString()).isTrue();
                if (args.get(i).equals("--bind")) {
                    throw new AssertionError("nothing was asked to be writable, yet " + source + " is");
                }
            }
        }
    }

    @Test
    void onlyPipWithAnIndexKeepsTheNetworkAndItsResolverFiles() throws IOException {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/bwrap")), "bubblewrap is not installed");
        Sandbox sandbox = new Sandbox(config(Map.of()), data.resolve("sandbox"));
        Path venv = Files.createDirectories(data.resolve("venv"));
        Path tmp = Files.createDirectories(data.resolve("tmp"));
        List<String> args = options(sandbox, new Sandbox.Jail(List.of("/serveml/venv/bin/python3", "-m", "pip"),
                Map.of(), List.of(new Sandbox.Bind(venv, "/serveml/venv", true)), true, Optional.of(tmp), 0),
                data.resolve("scratch"));
        assertThat(args).contains("--share-net");
        assertThat(String.join(" ", args)).contains("--bind " + venv + " /serveml/venv", "--bind " + tmp + " /tmp");
        if (Files.exists(Path.of("/etc/resolv.conf"))) {
            assertThat(String.join(" ", args)).contains("--ro-bind /etc/resolv.conf /etc/resolv.conf");
        }
    }

    @Test
    void withTheSandboxOffTheCommandRunsAsItIsWithTheJailsEnvironment() {
        Sandbox sandbox = new Sandbox(config(Map.of("SERVEML_PYTHON_SANDBOX", "off")), data.resolve("sandbox"));
        ProcessBuilder pb = sandbox.command(new Sandbox.Jail(List.of("/usr/bin/python3", "-V"), Map.of("A", "1"),
                List.of(), false, Optional.empty(), 1), data.resolve("scratch"));
        assertThat(pb.command()).containsExactly("/usr/bin/python3", "-V");
        assertThat(pb.environment()).containsExactly(Map.entry("A", "1"));
        assertThat(sandbox.path(data, "/serveml/model")).isEqualTo(data.toString());
    }
}
