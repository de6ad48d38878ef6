package dev.serveml.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The Python worker runtime.
 *
 * @param interpreter    the Python that runs workers and creates virtualenvs
 * @param workers        worker processes per loaded version
 * @param sandbox        {@code bwrap} (own user, no capabilities, no network, only the interpreter, the
 *                       model and the worker bound read-only, private /tmp, seccomp) or {@code off}
 * @param memoryLimit    address-space limit per worker, in bytes
 * @param requestTimeout longest one prediction may take before its worker is replaced (504)
 * @param idleTimeout    workers of a version idle this long are stopped; zero keeps them
 * @param startTimeout   longest a worker may take to say hello and load its model
 * @param pip            how requirements' virtualenvs are built (inside the sandbox)
 * @param maxFrame       largest protocol frame either side accepts, in bytes
 * @param envDir         where virtualenvs are cached, by requirements hash
 * @param workerDir      where the worker's Python package is unpacked at start
 * @param passThrough    variables of the server's environment handed to every worker unchanged
 *                       ({@link Setting#WORKER_PASS_THROUGH}: some processors need them for OpenBLAS
 *                       to compute correctly)
 */
public record PythonConfig(Path interpreter, int workers, String sandbox, long memoryLimit, Duration requestTimeout,
                           Duration idleTimeout, Duration startTimeout, PipConfig pip, int maxFrame,
                           Path envDir, Path workerDir, java.util.Map<String, String> passThrough) {
    public PythonConfig {
        passThrough = java.util.Map.copyOf(passThrough);
    }

    public boolean sandboxed() {
        return !"off".equals(sandbox);
    }
}
