package dev.serveml.runtime.python;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class RequirementsTest {
    @Test
    void packageNamesWithExtrasVersionsMarkersAndHashesAreAccepted() {
        for (String line : List.of("numpy", "scikit-learn>=1.0", "torch==1.13.1+cpu", "requests[security,socks] >= 2.8, < 3",
                "Django (>=3.0,<4)", "pandas; python_version >= \"3.8\" and sys_platform == 'linux'", "numpy==1.*",
                "xgboost~=1.7", "foo===1.0", "six==1.16.0 --hash=sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254")) {
            assertThat(Requirements.refusal(line, false)).as(line).isNull();
        }
    }

    @Test
    void optionsAreRefusedEvenWhenDirectReferencesAreAllowed() {
        for (String line : List.of("--index-url https://evil.example/simple", "-i https://evil.example", "-r other.txt",
                "-c constraints.txt", "-e .", "--extra-index-url https://x", "-f https://x", "--find-links=/x",
                "--trusted-host evil.example", "numpy --no-binary :all:", "numpy --global-option=--x",
                "--pre", "--hash=sha256:00")) {
            assertThat(Requirements.refusal(line, true)).as(line).contains("pip option");
        }
    }

    @Test
    void urlsVcsPathsAndDirectReferencesAreRefusedUnlessAllowed() {
        List<List<String>> cases = List.of(
                List.of("git+https://example.com/x.git", "version-control"),
                List.of("hg+https://example.com/x", "version-control"),
                List.of("https://example.com/x-1.0.tar.gz", "URL"),
                List.of("file:///etc/passwd", "URL"),
                List.of("x @ https://example.com/x.whl", "direct reference"),
                List.of("x@file:///tmp/x", "direct reference"),
                List.of("./evil", "local path"),
                List.of("/abs/evil", "local path"),
                List.of("evil/sub", "local path"),
                List.of("~/evil", "local path"));
        for (List<String> c : cases) {
            assertThat(Requirements.refusal(c.get(0), false)).as(c.get(0)).contains(c.get(1))
                    .contains("SERVEML_PIP_ALLOW_DIRECT_REFERENCES");
            assertThat(Requirements.refusal(c.get(0), true)).as(c.get(0)).isNull();
        }
    }

    @Test
    void continuationsVariablesAndGarbageAreRefusedAlways() {
        assertThat(Requirements.refusal("numpy \\", true)).contains("next line");
        assertThat(Requirements.refusal("numpy==${VERSION}", true)).contains("environment variable");
        assertThat(Requirements.refusal("numpy = 1", false)).contains("not a package requirement");
    }

    @Test
    void commentsAndBlankLinesAreDroppedAndLinesKeepTheirNumbers() {
        Requirements r = Requirements.parse("# pinned\n\nnumpy  # the array library\n  scikit-learn>=1.0\ngit+https://x/y.git#egg=y\n");
        assertThat(r.lines()).containsExactly("numpy", "scikit-learn>=1.0", "git+https://x/y.git#egg=y");
        assertThat(r.numbers()).containsExactly(3, 4, 5);
        assertThat(r.text()).isEqualTo("numpy\nscikit-learn>=1.0\ngit+https://x/y.git#egg=y");
    }

    @Test
    void theRefusalNamesTheLineByNumberWithoutTheHostsFolders() {
        ProblemException e = catchThrowableOfType(ProblemException.class,
                () -> Requirements.parse("numpy\n/srv/tenants/b/evilproj\n").check(false));
        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUIREMENTS);
        assertThat(e.detail()).startsWith("requirements line 2 '.../evilproj' is a local path")
                .doesNotContain("/srv");
        e = catchThrowableOfType(ProblemException.class, () -> Requirements.parse("-r /etc/passwd").check(true));
        assertThat(e.detail()).startsWith("requirements line 1 '-r .../passwd' is or holds a pip option");
    }
}
