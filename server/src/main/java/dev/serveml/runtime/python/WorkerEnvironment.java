package dev.serveml.runtime.python;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The environment of a Python worker: what ServeML sets, and which of a deployment's variables may
 * join it. A deployment's variables are an allow-list by shape: any name of letters, digits and
 * {@code _} except those that change how the dynamic loader, the C library or the interpreter
 * start a program ({@code LD_*}, {@code PYTHON*} but {@code PYTHONHASHSEED}, {@code GCONV_PATH},
 * ...), ServeML's own ({@code SERVEML_*}) and those ServeML sets. They reach the worker inside the
 * sandbox only (bubblewrap itself runs with an empty environment).
 */
public final class WorkerEnvironment {
    private static final Logger log = LoggerFactory.getLogger(WorkerEnvironment.class);
    /** Set by ServeML for every worker; a deployment cannot change them. */
    static final Set<String> SET_BY_SERVEML = Set.of("PATH", "HOME", "LANG", "TMPDIR", "SHELL", "USER", "LOGNAME",
            "PYTHONPATH", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONNOUSERSITE");
    /** The PYTHON* variables a deployment may set: they change answers, not what runs. */
    static final Set<String> PYTHON_ALLOWED = Set.of("PYTHONHASHSEED");
    /** Variables the C library (and shells) read paths or code from: glibc's "unsecure" list and kin. */
    static final Set<String> C_LIBRARY = Set.of("GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES",
            "LOCALDOMAIN", "LOCPATH", "MALLOC_TRACE", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR",
            "ENV", "BASH_ENV", "IFS");
    private static final String NAME = "[A-Za-z_][A-Za-z0-9_]{0,127}";

    private WorkerEnvironment() {
    }

    /**
     * Why a deployment may not set {@code name}, as a sentence naming it for the user; empty when it
     * may.
     */
    public static Optional<String> refusal(String name) {
        if (!name.matches(NAME)) {
            return Optional.of("environment variable names are letters, digits and _, not starting with a digit");
        }
        String upper = name.toUpperCase(Locale.ROOT);
        if (SET_BY_SERVEML.contains(upper)) {
            return Optional.of(name + " is set by ServeML for its workers and cannot be changed");
        }
        if (upper.startsWith("SERVEML_")) {
            return Optional.of(name + " is refused: SERVEML_ names are ServeML's own settings");
        }
        if (upper.startsWith("LD_")) {
            return Optional.of(name + " is refused: LD_ variables change how the dynamic loader starts programs");
        }
        if (upper.startsWith("PYTHON") && !PYTHON_ALLOWED.contains(upper)) {
            return Optional.of(name + " is refused: PYTHON variables change how the interpreter starts (of them only "
                    + String.join(", ", PYTHON_ALLOWED) + " may be set)");
        }
        if (C_LIBRARY.contains(upper)) {
            return Optional.of(name + " is refused: it makes the C library or a shell read files or code from a path");
        }
        return Optional.empty();
    }

    /**
     * The worker's whole environment: one math thread unless the deployment says otherwise, the
     * deployment's allowed variables, then what the worker relies on.
     *
     * @param deployment  the deployment's variables (checked again: a stored config predates the rule)
     * @param pythonPath  where the worker package is, as the worker sees it
     * @param passThrough the server's own values of variables some processors need (OpenBLAS), if set
     */
    static Map<String, String> of(Map<String, String> deployment, String pythonPath, Map<String, String> passThrough) {
        Map<String, String> env = new HashMap<>();
        for (String threads : List.of("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")) {
            env.put(threads, "1");
        }
        deployment.forEach((k, v) -> {
            Optional<String> refused = refusal(k);
            if (refused.isPresent()) {
                log.warn("a deployment's variable is not given to its worker: {}", refused.get());
            } else {
                env.put(k, v);
            }
        });
        env.putAll(passThrough);
        env.putAll(base());
        env.put("PYTHONPATH", pythonPath);
        env.put("PYTHONUNBUFFERED", "1");
        return env;
    }

    /** What every sandboxed Python gets (workers, venv, pip). */
    static Map<String, String> base() {
        return Map.of("PATH", "/usr/local/bin:/usr/bin:/bin", "HOME", "/tmp", "TMPDIR", "/tmp", "LANG", "C.UTF-8",
                "PYTHONDONTWRITEBYTECODE", "1", "PYTHONNOUSERSITE", "1");
    }
}
