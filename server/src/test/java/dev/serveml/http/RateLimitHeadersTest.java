package dev.serveml.http;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimitHeadersTest {
    @Test
    void resetsAreWrittenAsOpenAiWritesThemInGosDurationFormat() {
        assertThat(HttpApi.duration(0)).isEqualTo("0s");
        assertThat(HttpApi.duration(45)).isEqualTo("45s");
        assertThat(HttpApi.duration(60)).isEqualTo("1m0s");
        assertThat(HttpApi.duration(360)).isEqualTo("6m0s");
        assertThat(HttpApi.duration(7_505)).isEqualTo("2h5m5s");
        assertThat(HttpApi.duration(86_399)).isEqualTo("23h59m59s");
    }
}
