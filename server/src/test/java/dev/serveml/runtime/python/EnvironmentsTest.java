package dev.serveml.runtime.python;

import dev.serveml.config.PipConfig;
import dev.serveml.config.PythonConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * The virtualenv cache without pip: how an environment is named, what is taken from the cache,
 * what is refused or cleaned up before or after a build that cannot run, and which environments
 * the collection removes, on a temporary directory with file times set by the test. The only
 * process started is {@code /bin/false} standing in for the interpreter, so that a build fails.
 */
class EnvironmentsTest {
    private static final String READY = ".serveml-ready";
    private static final String LAST_USED = ".serveml-last-used";

    @TempDir
    Path root;
    private Sandbox sandbox;

    @AfterEach
    void closeSandbox() {
        if (sandbox != null) {
            sandbox.close();
        }
    }

    private Path envDir() {
        return root.resolve("envs");
    }

    private Environments environments(Duration retention) throws IOException {
        Files.createDirectories(envDir());
        PythonConfig config = new PythonConfig(Path.of("/bin/false"), 1, "off", 1L << 30, Duration.ofSeconds(30),
                Duration.ZERO, Duration.ofSeconds(30), new PipConfig(Duration.ofMinutes(1), Optional.empty(),
                Optional.empty(), true, false, retention), 1 << 20, envDir(), root.resolve("worker"), Map.of());
        sandbox = new Sandbox(config, root.resolve("sandbox"));
        return new Environments(config, sandbox, Files.createDirectories(root.resolve("builds")));
    }

    private static Requirements lines(String text) {
        return Requirements.parse(text);
    }

    /** A finished environment, as a build leaves it, last used {@code ago}. */
    private static Path built(Path dir, Duration ago) throws IOException {
        Files.createDirectories(dir.resolve("bin"));
        Files.writeString(dir.resolve(READY), "numpy");
        age(dir, LAST_USED, ago);
        return dir;
    }

    private static void age(Path dir, String mark, Duration ago) throws IOException {
        Path file = dir.resolve(mark);
        if (!Files.exists(file)) {
            Files.createFile(file);
        }
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().minus(ago)));
    }

    private List<String> entries() throws IOException {
        try (Stream<Path> list = Files.list(envDir())) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theSameRequirementsWithOtherCommentsAndBlankLinesShareOneEnvironmentAndOthersDoNot() throws IOException {
        Environments envs = environments(Duration.ofHours(1));
        Path dir = envs.dirFor(lines("numpy>=1.20\nscipy==1.10\n"));

        assertThat(envs.dirFor(lines("# for the model\nnumpy>=1.20\n\nscipy==1.10  # pinned\n"))).isEqualTo(dir);
        assertThat(dir.getParent()).isEqualTo(envDir());
        assertThat(dir.getFileName().toString()).matches("[0-9a-f]{16}");
        assertThat(envs.dirFor(lines("scipy==1.10\nnumpy>=1.20"))).as("another order").isNotEqualTo(dir);
        assertThat(envs.dirFor(lines("numpy>=1.21\nscipy==1.10"))).as("another version").isNotEqualTo(dir);
    }

    @Test
    void noRequirementsMeanTheServersOwnPythonAndNothingIsBuilt() throws IOException {
        Environments envs = environments(Duration.ofHours(1));

        assertThat(envs.acquire(Optional.empty(), "m v1")).isEmpty();
        assertThat(envs.acquire(Optional.of("# nothing but a comment\n\n"), "m v1")).isEmpty();
        assertThat(envs.ensure(Optional.of("\n"), "m v1")).isEqualTo("no requirements: the server's Python packages");
        assertThat(entries()).isEmpty();
    }

    @Test
    void aBuiltEnvironmentIsTakenFromTheCacheWithoutRunningPipAndItsUseIsMarked() throws IOException {
        Environments envs = environments(Duration.ofHours(1));
        Path dir = built(envs.dirFor(lines("numpy")), Duration.ofMinutes(30));

        assertThat(envs.acquire(Optional.of("numpy\n"), "m v1")).hasValue(dir);

        Instant marked = Files.getLastModifiedTime(dir.resolve(LAST_USED)).toInstant();
        assertThat(marked).isAfter(Instant.now().minus(Duration.ofMinutes(1)));
        assertThat(envs.ensure(Optional.of("numpy  # again\n"), "m v2"))
                .isEqualTo("environment for 1 requirement(s) ready (cached)");
    }

    @Test
    void aLineThatNamesNoPackageIsRefusedBeforeAnythingIsBuilt() throws IOException {
        Environments envs = environments(Duration.ofHours(1));

        ProblemException e = catchThrowableOfType(ProblemException.class, () -> envs.acquire(
                Optional.of("numpy\n--index-url https://packages.example/simple\n"), "m v1"));

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUIREMENTS);
        assertThat(e.detail()).contains("line 2");
        assertThat(entries()).isEmpty();
    }

    @Test
    void aBuildThatFailsLeavesNoCacheEntryNoHalfBuiltDirectoryAndNoScratch() throws IOException {
        Environments envs = environments(Duration.ofHours(1));

        ProblemException e = catchThrowableOfType(ProblemException.class,
                () -> envs.acquire(Optional.of("numpy"), "m v1"));

        assertThat(e.type()).isEqualTo(ProblemType.ENVIRONMENT_FAILED);
        assertThat(e.detail()).startsWith("virtualenv failed (exit 1)");
        assertThat(entries()).isEmpty();
        try (Stream<Path> scratch = Files.list(root.resolve("builds"))) {
            assertThat(scratch).isEmpty();
        }
        // Nothing cached: the next use tries again (and fails the same way) rather than reusing a failure.
        assertThat(catchThrowableOfType(ProblemException.class, () -> envs.acquire(Optional.of("numpy"), "m v2"))
                .type()).isEqualTo(ProblemType.ENVIRONMENT_FAILED);
    }

    @Test
    void atStartHalfBuiltUnfinishedAndLongUnusedEnvironmentsAreRemovedAndRecentOnesKept() throws IOException {
        Files.createDirectories(envDir());
        built(envDir().resolve("recent"), Duration.ofMinutes(10));
        built(envDir().resolve("old"), Duration.ofDays(2));
        Path readyOnly = Files.createDirectories(envDir().resolve("ready-only"));
        Files.writeString(readyOnly.resolve(READY), "numpy");
        age(readyOnly, READY, Duration.ofDays(2)); // never marked as used: the build's own time counts
        Files.createDirectories(envDir().resolve("unfinished").resolve("bin"));
        Files.createDirectories(envDir().resolve("abcdef.tmp-1234").resolve("bin")); // a build cut by a stop

        environments(Duration.ofHours(1));

        assertThat(entries()).containsExactly("recent");
    }

    @Test
    void aRetentionOfZeroKeepsEveryFinishedEnvironment() throws IOException {
        Files.createDirectories(envDir());
        built(envDir().resolve("old"), Duration.ofDays(400));
        Files.createDirectories(envDir().resolve("abcdef.tmp-1234"));

        environments(Duration.ZERO);

        assertThat(entries()).as("only the half-built one goes").containsExactly("old");
    }

    @Test
    void laterAnEnvironmentInUseOrBeingBuiltIsKeptAndOneNoLongerHeldIsRemoved() throws IOException {
        Environments envs = environments(Duration.ofHours(1));
        Path held = built(envs.dirFor(lines("numpy")), Duration.ofDays(2));
        Optional<Path> first = envs.acquire(Optional.of("numpy"), "m v1");
        Optional<Path> second = envs.acquire(Optional.of("numpy"), "m v2");
        age(held, LAST_USED, Duration.ofDays(2));
        Files.createDirectories(envDir().resolve("abcdef.tmp-1234")); // another build under way
        Files.createDirectories(envDir().resolve("building")); // not ready yet: its build may be moving it in

        envs.collect(false);
        assertThat(entries()).as("all kept").hasSize(3);

        envs.release(first);
        age(held, LAST_USED, Duration.ofDays(2));
        envs.collect(false);
        assertThat(entries()).as("still held by m v2").contains(held.getFileName().toString());

        envs.release(second);
        age(held, LAST_USED, Duration.ofDays(2));
        envs.collect(false);
        assertThat(entries()).containsExactlyInAnyOrder("abcdef.tmp-1234", "building");
    }

    @Test
    void aReleaseMarksTheUseSoARecentlyReleasedEnvironmentStays() throws IOException {
        Environments envs = environments(Duration.ofHours(1));
        Path dir = built(envs.dirFor(lines("numpy")), Duration.ofDays(2));
        Optional<Path> venv = envs.acquire(Optional.of("numpy"), "m v1");
        age(dir, LAST_USED, Duration.ofDays(2));

        envs.release(venv);
        envs.collect(false);

        assertThat(entries()).containsExactly(dir.getFileName().toString());
    }

    @Test
    void pipsOwnErrorLinesAreWhatIsReportedOrElseTheEndOfItsOutput() {
        assertThat(Environments.errors(List.of("Looking in links: /serveml/wheelhouse",
                "ERROR: Could not find a version that satisfies the requirement nope",
                "ERROR: No matching distribution found for nope")))
                .isEqualTo("ERROR: Could not find a version that satisfies the requirement nope\n"
                        + "ERROR: No matching distribution found for nope");
        List<String> chatter = java.util.stream.IntStream.rangeClosed(1, 10).mapToObj(i -> "line " + i).toList();
        assertThat(Environments.errors(new java.util.ArrayList<>(chatter)))
                .isEqualTo(String.join("\n", chatter.subList(2, 10)));
    }
}
