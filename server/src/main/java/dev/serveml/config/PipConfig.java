package dev.serveml.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How virtualenvs for a model's requirements are built. pip always runs inside the worker
 * sandbox; these settings say what it may reach and what it may install.
 *
 * @param timeout                longest one {@code pip install} may take
 * @param indexUrl               the package index pip may use (the sandbox then gets network); empty: no index
 *                               and no network ({@code --no-index})
 * @param wheelhouse             a directory of wheels pip may install from ({@code --find-links}), bound read-only
 * @param onlyBinary             {@code --only-binary :all:}: wheels only, so no {@code setup.py} ever runs
 * @param allowDirectReferences  whether requirement lines may name URLs, VCS repositories, paths or
 *                               {@code name @ url} (never options such as {@code --index-url})
 * @param envRetention           virtualenvs no loaded version used for this long are removed; zero keeps them
 */
public record PipConfig(Duration timeout, Optional<String> indexUrl, Optional<Path> wheelhouse, boolean onlyBinary,
                        boolean allowDirectReferences, Duration envRetention) {
    @Override
    public String toString() {
        return "PipConfig[timeout=" + timeout + ", indexUrl=" + indexUrl.map(DatabaseConfig::redact).orElse("(none)")
                + ", wheelhouse=" + wheelhouse.map(Path::toString).orElse("(none)") + ", onlyBinary=" + onlyBinary
                + ", allowDirectReferences=" + allowDirectReferences + ", envRetention=" + envRetention + "]";
    }
}
