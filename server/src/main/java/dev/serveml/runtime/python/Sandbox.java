package dev.serveml.runtime.python;

import dev.serveml.config.PythonConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Wraps a worker's command line in bubblewrap: its own network namespace with no interfaces but
 * loopback (so no network), the whole filesystem read-only, a private {@code /tmp}, its own PID
 * namespace, and death with ServeML. The paths the worker needs are bound back in: its socket
 * directory writable, the model and the worker code read-only.
 */
final class Sandbox {
    private static final List<Path> BWRAP = List.of(Path.of("/usr/bin/bwrap"), Path.of("/bin/bwrap"));

    private final PythonConfig config;
    private final Optional<Path> bwrap;

    Sandbox(PythonConfig config) {
        this.config = config;
        this.bwrap = BWRAP.stream().filter(Files::isExecutable).findFirst();
    }

    /** Null when workers can run as configured, otherwise why not. */
    String unavailableReason() {
        if (config.sandboxed() && bwrap.isEmpty()) {
            return "the worker sandbox needs bubblewrap (apt-get install bubblewrap, then restart ServeML), or set "
                    + "SERVEML_PYTHON_SANDBOX=off on a single-user machine";
        }
        if (!Files.isExecutable(config.interpreter())) {
            return "the Python interpreter " + config.interpreter() + " does not exist (SERVEML_PYTHON)";
        }
        return null;
    }

    /**
     * The full command: bubblewrap's arguments (when sandboxed) then {@code command}.
     *
     * @param writable  directories the worker may write (its socket directory)
     * @param readable  directories it must see even if they lie under /tmp (model, code, virtualenv)
     */
    List<String> wrap(List<String> command, List<Path> writable, List<Path> readable) {
        if (!config.sandboxed()) {
            return command;
        }
        List<String> args = new ArrayList<>(List.of(bwrap.orElseThrow().toString(),
                "--die-with-parent", "--new-session",
                "--unshare-net", "--unshare-ipc", "--unshare-pid", "--unshare-uts",
                "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"));
        for (Path p : readable) {
            args.addAll(List.of("--ro-bind", p.toString(), p.toString()));
        }
        for (Path p : writable) {
            args.addAll(List.of("--bind", p.toString(), p.toString()));
        }
        args.addAll(List.of("--chdir", "/tmp"));
        args.addAll(command);
        return args;
    }
}
