package dev.serveml.e2e;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Tests that need system packages (Debian's Python with scikit-learn, XGBoost, PyTorch;
 * bubblewrap) skip with a visible reason where they are missing, and fail instead when
 * {@code SERVEML_REQUIRE_ALL=1} (as CI sets it).
 */
final class SystemRequirements {
    private SystemRequirements() {
    }

    static void requirePython(String... modules) {
        String imports = "import " + String.join(", ", modules);
        boolean ok;
        try {
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", imports).redirectErrorStream(true).start();
            ok = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            ok = false;
        }
        require(ok, "/usr/bin/python3 cannot '" + imports + "' (apt-get install python3-sklearn python3-xgboost "
                + "python3-torch python3-pandas)");
    }

    static void requireBubblewrap() {
        require(Files.isExecutable(Path.of("/usr/bin/bwrap")), "bubblewrap is not installed (apt-get install bubblewrap)");
    }

    static void require(boolean present, String reason) {
        if (present) {
            return;
        }
        if ("1".equals(System.getenv("SERVEML_REQUIRE_ALL"))) {
            throw new AssertionError("required for this test run (SERVEML_REQUIRE_ALL=1): " + reason);
        }
        Assumptions.abort("skipped: " + reason);
    }
}
