package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.serveml.e2e.Problems.assertProblem;
import static dev.serveml.e2e.TestServer.fixture;
import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 11 (#2 #3 #4 #5 #16): what a tenant's Python code can reach, tried the way a tenant
 * would, over HTTP. The attack pickles (fixtures/python, make_python_fixtures.py) run at unpickle
 * time, during the upload's validation load, and report what they got as the load error's first
 * line ("RuntimeError: LEAK:&lt;hex JSON&gt;"), the way the attack review got the JWT key out through
 * the 422. Each entry of that report is "OK ..." when the attempt worked and "ERR ..." when it
 * failed. Python code in requirements (a local project's setup.py, an sdist) is tried the same
 * way. Next to each attack the legitimate use still works. The same holds when the server runs
 * as root (as here and in CI): the sandbox's root is an unprivileged mapped user.
 */
class PythonSandboxIT {
    @TempDir
    static Path dataDir;
    @TempDir
    static Path hostDir;
    static TestServer server;
    static Path wheelhouse;

    static final String HANDLER = """
            import numpy as np
            def load(model_dir):
                pass
            def predict(inputs):
                return {"output": np.asarray(inputs["input"], dtype=np.float64) + 1}
            """;
    static final String MARK = "serveml-escape-marker";

    @BeforeAll
    static void start() throws URISyntaxException {
        SystemRequirements.requireBubblewrap();
        SystemRequirements.requirePython("numpy", "sklearn");
        wheelhouse = Path.of(PythonSandboxIT.class.getResource("/fixtures/python/wheelhouse").toURI());
        server = TestServer.start(dataDir, Map.of("SERVEML_PIP_WHEELHOUSE", wheelhouse.toString()));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aPickleCannotReadTheJwtKeyTheDataDirectoryOtherTenantsArtifactsOrTheHostsSecrets() throws IOException {
        String bob = server.newUser("bob-victim");
        server.useCredential(bob);
        assertThat(server.upload("bobs-private-model", "iris_rf.pkl", fixture("iris_rf.pkl")).statusCode())
                .isEqualTo(201);
        server.useCredential(server.newUser("alice-attacker"));
        try {
            HttpResponse<String> r = server.upload("exfiltrate", "evil_exfiltrate.pkl",
                    fixture("python/evil_exfiltrate.pkl"));
            JsonNode report = leakReport(r);
            for (String probe : List.of("jwt_key", "data_files", "artifacts", "postgres_conf", "pg_hba", "shadow",
                    "root_home")) {
                assertThat(report.get(probe).asText()).as(probe + " in " + report).startsWith("ERR");
            }
            assertThat(report.get("environ").asText()).doesNotContain("SERVEML");
            // Nothing of the server's secrets or another tenant's files is in the answer, in any form.
            byte[] key = Files.readAllBytes(dataDir.resolve("secrets/jwt.key"));
            List<String> artifacts;
            try (Stream<Path> files = Files.walk(dataDir.resolve("artifacts"))) {
                artifacts = files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).toList();
            }
            assertThat(artifacts).isNotEmpty();
            String everything = r.body() + report;
            assertThat(everything).doesNotContain(HexFormat.of().formatHex(key, 0, Math.min(16, key.length)))
                    .doesNotContain(new String(key, 0, Math.min(16, key.length), StandardCharsets.ISO_8859_1))
                    .doesNotContain(TestServer.ADMIN_PASSWORD).doesNotContain("root:");
            artifacts.forEach(name -> assertThat(everything).doesNotContain(name.substring(0, 12)));
            assertProblem(server.get("/api/v1/models/exfiltrate"), 404, "model-not-found", "exfiltrate");
            // Bob's model is still his and still answers.
            server.useCredential(bob);
            assertThat(json(server.postJson("/api/v1/models/bobs-private-model/predict",
                    "{\"features\": [6.7, 3.0, 5.2, 2.3]}")).get("predictions").get(0).get("label").asLong())
                    .isEqualTo(2);
        } finally {
            server.useCredential(server.adminKey());
        }
    }

    @Test
    void aPickleCannotRemountWriteOnTheHostMakeNamespacesOrKeepCapabilitiesEvenWhenTheServerIsRoot()
            throws IOException {
        JsonNode report = leakReport(server.upload("escape", "evil_escape.pkl", fixture("python/evil_escape.pkl")));
        for (String attempt : List.of("mount_command", "remount_root", "remount_model_dir", "write_model_dir",
                "write_var_tmp", "write_root_home", "write_filesystem_root", "write_socket_dir", "unshare_user",
                "keyctl")) {
            assertThat(report.path(attempt).asText()).as(attempt + " in " + report).startsWith("ERR");
        }
        // EPERM from the seccomp filter (a plain user could make a keyring; nobody refused it but the filter).
        assertThat(report.get("keyctl").asText()).isEqualTo("ERR PermissionError 1");
        assertThat(report.get("unshare_user").asText()).isEqualTo("ERR PermissionError 1");
        assertThat(report.get("cap_eff").asText()).isEqualTo("0000000000000000");
        for (Path dir : List.of(Path.of("/var/tmp"), Path.of("/root"), Path.of("/"))) {
            assertThat(dir.resolve(MARK)).doesNotExist();
        }
        try (Stream<Path> files = Files.walk(dataDir)) {
            assertThat(files.filter(p -> p.getFileName().toString().equals(MARK)).toList()).isEmpty();
        }
        assertServing("after-escape");
    }

    @Test
    void aRequirementNamingALocalProjectIsRefusedNamingTheLineAndItsSetupPyNeverRuns() throws IOException {
        Path project = Files.createDirectories(hostDir.resolve("evilproj"));
        Path marker = hostDir.resolve("setup-py-ran");
        Files.writeString(project.resolve("setup.py"), "open(" + pythonString(marker.toString())
                + ", 'w').write('pwned')\nfrom setuptools import setup\nsetup(name='evilproj', version='1.0')\n");
        HttpResponse<String> r = server.upload("local-project", "model.zip", Fixtures.zip(Map.of(
                "handler.py", HANDLER, "requirements.txt", "numpy\n" + project + "\n")));
        // The line is named by its number, and shown without the host's folders.
        assertProblem(r, 422, "invalid-requirements", "requirements line 2 '.../evilproj' is a local path");
        assertThat(marker).doesNotExist();
        assertProblem(server.get("/api/v1/models/local-project"), 404, "model-not-found", "local-project");
    }

    @Test
    void urlVcsDirectReferenceAndOptionLinesAreRefusedNamingTheLine() {
        // the line, how the answer quotes it, why it is refused
        List<List<String>> lines = List.of(
                List.of("--index-url https://evil.example/simple", "--index-url https://evil.example/simple",
                        "pip option"),
                List.of("-e git+https://evil.example/x.git#egg=x", "-e git+https://evil.example/x.git#egg=x",
                        "pip option"),
                List.of("-r /etc/passwd", "-r .../passwd", "pip option"),
                List.of("numpy --no-binary :all:", "numpy --no-binary :all:", "pip option"),
                List.of("git+https://evil.example/x.git", "git+https://evil.example/x.git", "version-control reference"),
                List.of("https://evil.example/x-1.0.tar.gz", "https://evil.example/x-1.0.tar.gz", "is a URL"),
                List.of("file:///etc/passwd", "file:///etc/passwd", "is a URL"),
                List.of("x @ https://evil.example/x-1.0-py3-none-any.whl", "x @ https://evil.example/x-1.0-py3-none-any.whl",
                        "direct reference"),
                List.of("./vendor/x", "./vendor/x", "local path"));
        for (List<String> line : lines) {
            HttpResponse<String> r = server.upload("bad-line", "model.zip", Fixtures.zip(Map.of(
                    "handler.py", HANDLER, "requirements.txt", "numpy\n\n" + line.get(0) + "\n")));
            JsonNode p = assertProblem(r, 422, "invalid-requirements", "requirements line 3 '" + line.get(1) + "'");
            assertThat(p.get("detail").asText()).contains(line.get(2));
        }
        assertProblem(server.get("/api/v1/models/bad-line"), 404, "model-not-found", "bad-line");
    }

    @Test
    void anSdistOnlyRequirementIsNeverBuiltSoItsSetupPyNeverRuns() {
        JsonNode e = expected().get("wheelhouse");
        HttpResponse<String> r = server.upload("sdist-only", "model.zip", Fixtures.zip(Map.of(
                "handler.py", HANDLER, "requirements.txt", e.get("sdist_requirement").asText() + "\n")));
        JsonNode p = assertProblem(r, 422, "environment-failed", "serveml-sdist-only");
        assertThat(p.get("detail").asText()).contains("ERROR: ").doesNotContain(e.get("sdist_prints").asText());
        assertThat(Path.of(e.get("sdist_marker").asText())).doesNotExist();
    }

    @Test
    void aWheelFromTheWheelhouseAndASatisfiedRequirementsFileInstallAndServe() {
        JsonNode e = expected().get("wheelhouse");
        String handler = HANDLER.replace("import numpy as np", "import numpy as np\nimport serveml_tiny_wheel")
                .replace("+ 1}", "+ serveml_tiny_wheel.VALUE}");
        HttpResponse<String> r = server.upload("wheel-user", "model.zip", Fixtures.zip(Map.of(
                "handler.py", handler, "requirements.txt", e.get("wheel_requirement").asText() + "\n")));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(json(server.postJson("/api/v1/models/wheel-user/predict", "{\"inputs\": {\"input\": [[1, 2]]}}"))
                .get("outputs").get("output")).isEqualTo(json("[[43.0, 44.0]]"));

        r = server.upload("satisfied", "model.zip", Fixtures.zip(Map.of("handler.py", HANDLER,
                "requirements.txt", "# Debian has these\nnumpy\nscikit-learn>=1.0  # the sklearn of python3-sklearn\n"
                        + "joblib; python_version >= \"3.8\"\n")));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(json(server.postJson("/api/v1/models/satisfied/predict", "{\"inputs\": {\"input\": [[1, 2]]}}"))
                .get("outputs").get("output")).isEqualTo(json("[[2.0, 3.0]]"));
    }

    @Test
    void pipRunsInTheSandboxWithoutTheServersEnvironmentDataDirectoryOrNetwork(@TempDir Path otherData)
            throws IOException {
        JsonNode e = expected().get("wheelhouse");
        // Only an administrator can let pip build sdists; when one does, the setup.py runs boxed.
        try (TestServer builds = TestServer.start(otherData, Map.of("SERVEML_PIP_WHEELHOUSE", wheelhouse.toString(),
                "SERVEML_PIP_ONLY_BINARY", "false"))) {
            HttpResponse<String> r = builds.upload("probe", "model.zip", Fixtures.zip(Map.of(
                    "handler.py", HANDLER, "requirements.txt", e.get("probe_requirement").asText() + "\n")));
            JsonNode p = assertProblem(r, 422, "environment-failed", "PROBE:");
            JsonNode report = decode(p.get("detail").asText(), "PROBE:");
            for (String probe : List.of("jwt_key", "data_files", "shadow", "write_var_tmp", "write_data_dir",
                    "host_listener")) {
                assertThat(report.get(probe).asText()).as(probe + " in " + report).startsWith("ERR");
            }
            assertThat(report.get("environ").asText()).doesNotContain("SERVEML");
            assertThat(r.body()).doesNotContain(TestServer.ADMIN_PASSWORD);
            String marker = e.get("probe_marker").asText();
            assertThat(Path.of("/var/tmp", marker)).doesNotExist();
            try (Stream<Path> files = Files.walk(otherData)) {
                assertThat(files.filter(f -> f.getFileName().toString().equals(marker)).toList()).isEmpty();
            }
        }
    }

    @Test
    void loaderAndInterpreterVariablesInADeploymentAreRefusedNamingTheVariable() {
        assertThat(server.upload("env-model", "handler_model.zip", fixture("python/handler_model.zip")).statusCode())
                .isEqualTo(201);
        for (String name : List.of("LD_AUDIT", "LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONSTARTUP",
                "PYTHONHOME", "GCONV_PATH", "SERVEML_ADMIN_PASSWORD", "PATH")) {
            JsonNode p = assertProblem(deploy("bad-env", "env-model",
                    "{\"env\": {\"" + name + "\": \"/tmp/x.so\"}}"), 422, "invalid-deployment", name);
            assertThat(p.get("errors").get(0).get("pointer").asText()).isEqualTo("/config/env/" + name);
        }
        assertThat(server.get("/api/v1/deployments/bad-env").statusCode()).isEqualTo(404);
    }

    @Test
    void aDeploymentsVariablesReachTheWorkerInsideTheSandboxButNeverBubblewrap() throws IOException {
        assertThat(server.upload("env-ok", "handler_model.zip", fixture("python/handler_model.zip")).statusCode())
                .isEqualTo(201);
        String secret = "tenant-secret-value-7f3a";
        assertThat(deploy("env-ok", "env-ok", "{\"env\": {\"HANDLER_BIAS\": \"10\", "
                + "\"PYTHONHASHSEED\": \"0\", \"TENANT_TOKEN\": \"" + secret + "\"}}").statusCode()).isEqualTo(201);
        server.awaitDeployment("env-ok", "active");
        HttpResponse<String> r = server.postJson("/api/v1/deployments/env-ok/predict", "{\"instances\": [[1.0, 2.0]]}");
        assertThat(Fixtures.firstDoubled(r)).isEqualTo(12.0);

        List<ProcessHandle> bwraps = ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/bwrap")).orElse(false)).toList();
        assertThat(bwraps).isNotEmpty();
        boolean workerHasIt = false;
        for (ProcessHandle p : ProcessHandle.current().descendants().toList()) {
            String environ = readProc(p.pid(), "environ");
            String cmdline = readProc(p.pid(), "cmdline");
            if (bwraps.contains(p)) {
                assertThat(environ).as("bwrap's environment").isEmpty();
                assertThat(cmdline).doesNotContain(secret);
            }
            workerHasIt |= environ.contains("TENANT_TOKEN=" + secret);
        }
        assertThat(workerHasIt).as("a worker has the deployment's variable").isTrue();
    }

    @Test
    void socketDirectoriesAndModelDirectoriesAreRemovedAfterLoadsFailedOrNotAndOnUnload() throws IOException {
        Path sockets = dataDir.resolve("python/run/sockets");
        Path models = dataDir.resolve("python/run/models");
        long before = count(models);
        assertProblem(server.upload("fails-to-load", "evil_write.pkl", fixture("python/evil_write.pkl")), 422,
                "invalid-model", "could not be loaded");
        assertThat(count(sockets)).as("socket directories after a failed load").isZero();
        assertThat(count(models)).as("model directories after a failed load").isEqualTo(before);

        assertThat(server.upload("unloaded", "handler_model.zip", fixture("python/handler_model.zip")).statusCode())
                .isEqualTo(201);
        assertThat(count(sockets)).as("socket directories after a load").isZero();
        assertThat(count(models)).isEqualTo(before + 1);
        assertThat(server.delete("/api/v1/models/unloaded").statusCode()).isEqualTo(200);
        Poll.until(() -> count(models) == before, Duration.ofSeconds(20), "the model directory to go");
    }

    @Test
    void virtualenvsNoVersionUsesAreCollectedAndOnesInUseKept(@TempDir Path gcData) throws IOException {
        try (TestServer gc = TestServer.start(gcData, Map.of("SERVEML_PIP_ENV_RETENTION", "1h"))) {
            Path envs = gcData.resolve("python/envs");
            assertThat(gc.upload("gc-a", "handler_model.zip", fixture("python/handler_model.zip")).statusCode())
                    .isEqualTo(201);
            List<Path> built = list(envs);
            assertThat(built).hasSize(1);
            Path inUse = built.get(0);
            FileTime old = FileTime.from(Instant.now().minus(Duration.ofDays(2)));
            Files.setLastModifiedTime(inUse.resolve(".serveml-last-used"), old);
            Path stale = Files.createDirectories(envs.resolve("00000000deadbeef"));
            Files.writeString(stale.resolve(".serveml-ready"), "numpy==1.0");
            Files.writeString(stale.resolve(".serveml-last-used"), "");
            Files.setLastModifiedTime(stale.resolve(".serveml-last-used"), old);
            Path halfBuilt = Files.createDirectories(envs.resolve("00000000cafebabe.tmp-left-by-a-kill"));

            // Building another environment collects: the stale one goes, the one gc-a holds stays.
            assertThat(gc.upload("gc-b", "model.zip", Fixtures.zip(Map.of("handler.py", HANDLER,
                    "requirements.txt", "numpy\njoblib\n"))).statusCode()).isEqualTo(201);
            assertThat(stale).doesNotExist();
            assertThat(inUse).exists();
            assertThat(halfBuilt).as("may be building: only removed at start").exists();

            gc.restart();
            assertThat(halfBuilt).doesNotExist();
            assertThat(list(envs)).hasSize(2).contains(inUse);
            assertThat(json(gc.postJson("/api/v1/models/gc-a/predict", "{\"inputs\": {\"x\": [[1, 2]]}}"))
                    .get("outputs").get("doubled")).isEqualTo(json("[[2.5, 4.5]]"));
        }
    }

    private static HttpResponse<String> deploy(String name, String model, String config) {
        return server.postJson("/api/v1/deployments", "{\"name\": \"" + name + "\", \"model\": \"" + model
                + "\", \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]}, \"config\": " + config + "}");
    }

    private static void assertServing(String name) {
        assertThat(server.upload(name, "iris_rf.pkl", fixture("iris_rf.pkl")).statusCode()).isEqualTo(201);
        assertThat(json(server.postJson("/api/v1/models/" + name + "/predict", "{\"features\": [6.7, 3.0, 5.2, 2.3]}"))
                .get("predictions").get(0).get("label").asLong()).isEqualTo(2);
    }

    /** The attack pickle's report: the upload failed as a bad model, its message carrying the report. */
    private static JsonNode leakReport(HttpResponse<String> r) {
        JsonNode p = assertProblem(r, 422, "invalid-model", "LEAK:");
        return decode(p.get("detail").asText(), "LEAK:");
    }

    private static JsonNode decode(String detail, String tag) {
        Matcher m = Pattern.compile(Pattern.quote(tag) + "([0-9a-f]+)").matcher(detail);
        assertThat(m.find()).as(detail).isTrue();
        return json(new String(HexFormat.of().parseHex(m.group(1)), StandardCharsets.UTF_8));
    }

    private static JsonNode expected() {
        return json(new String(fixture("python/expected_python.json"), StandardCharsets.UTF_8));
    }

    private static String pythonString(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private static long count(Path dir) {
        return list(dir).size();
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String readProc(long pid, String file) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), file)), StandardCharsets.UTF_8)
                    .replace('\0', '\n');
        } catch (IOException e) {
            return ""; // gone meanwhile
        }
    }
}
