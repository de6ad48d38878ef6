package dev.serveml.server;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LauncherTest {
    @Test
    void readsTheFeatureReleaseOfOldAndNewVersionStrings() {
        assertThat(Launcher.feature("1.8")).isEqualTo(8);
        assertThat(Launcher.feature("17")).isEqualTo(17);
        assertThat(Launcher.feature("21")).isEqualTo(21);
        assertThat(Launcher.feature("26-ea")).isEqualTo(26);
        assertThat(Launcher.feature("")).isZero();
    }
}
