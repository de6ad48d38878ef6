package dev.serveml.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class PostgresBinariesTest {
    @Test
    void serversSharingOneFolderUnpackItOnceAndAllGetTheSamePrograms(@TempDir Path dir) throws Exception {
        Path shared = dir.resolve("bin");
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            Callable<Path> unpack = () -> PostgresBinaries.unpack(shared);
            List<Future<Path>> started = List.of(pool.submit(unpack), pool.submit(unpack), pool.submit(unpack));
            Path first = started.get(0).get();
            for (Future<Path> f : started) {
                assertThat(f.get()).isEqualTo(first);
            }
            assertThat(first.resolve("bin/postgres")).isExecutable();
        } finally {
            pool.shutdownNow();
        }
        try (Stream<Path> entries = Files.list(shared)) {
            assertThat(entries.map(p -> p.getFileName().toString()))
                    .as("one unpacked tree, no half-unpacked folder left")
                    .containsExactlyInAnyOrder(".unpack.lock", shared.relativize(PostgresBinaries.unpack(shared)).toString());
        }
    }

    @Test
    void aFolderUnpackedBeforehandIsOnlyReadSoItMayBeReadOnly(@TempDir Path dir) throws Exception {
        Path shared = dir.resolve("bin");
        Path root = PostgresBinaries.unpack(shared);
        Files.delete(shared.resolve(".unpack.lock"));
        assertThat(shared.toFile().setWritable(false, false)).isTrue();
        try {
            assertThat(PostgresBinaries.unpack(shared)).isEqualTo(root);
            assertThat(shared.resolve(".unpack.lock")).as("no lock taken where nothing is written").doesNotExist();
        } finally {
            shared.toFile().setWritable(true, true);
        }
    }
}
