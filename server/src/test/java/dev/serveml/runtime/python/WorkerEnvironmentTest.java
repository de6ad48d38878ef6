package dev.serveml.runtime.python;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class WorkerEnvironmentTest {
    @Test
    void ordinaryNamesArePassedAndPythonHashSeedToo() {
        for (String name : List.of("HANDLER_BIAS", "LOG_LEVEL", "OMP_NUM_THREADS", "OPENBLAS_CORETYPE", "my_var",
                "PYTHONHASHSEED", "TRANSFORMERS_OFFLINE")) {
            assertThat(WorkerEnvironment.refusal(name)).as(name).isEmpty();
        }
    }

    @Test
    void loaderInterpreterServemlAndCLibraryNamesAreRefusedNamingTheVariable() {
        for (String name : List.of("LD_AUDIT", "LD_PRELOAD", "LD_LIBRARY_PATH", "ld_audit", "PYTHONPATH",
                "PYTHONSTARTUP", "PYTHONHOME", "PYTHONINSPECT", "PYTHONWARNINGS", "SERVEML_JWT_SECRET", "PATH", "HOME",
                "TMPDIR", "GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "BASH_ENV")) {
            assertThat(WorkerEnvironment.refusal(name)).as(name).hasValueSatisfying(why -> assertThat(why)
                    .startsWith(name));
        }
        assertThat(WorkerEnvironment.refusal("9LIVES")).isPresent();
        assertThat(WorkerEnvironment.refusal("A-B")).isPresent();
    }

    @Test
    void theWorkersEnvironmentKeepsWhatServemlSetsAndDropsRefusedNames() {
        Map<String, String> env = WorkerEnvironment.of(Map.of("OMP_NUM_THREADS", "4", "HANDLER_BIAS", "10",
                "LD_AUDIT", "/tmp/x.so", "PATH", "/evil"), "/serveml/worker", Map.of("OPENBLAS_CORETYPE", "Haswell"));
        assertThat(env).containsEntry("OMP_NUM_THREADS", "4").containsEntry("HANDLER_BIAS", "10")
                .containsEntry("OPENBLAS_NUM_THREADS", "1").containsEntry("OPENBLAS_CORETYPE", "Haswell")
                .containsEntry("PYTHONPATH", "/serveml/worker").containsEntry("PATH", "/usr/local/bin:/usr/bin:/bin")
                .containsEntry("HOME", "/tmp").doesNotContainKey("LD_AUDIT");
    }
}
