package dev.serveml.http;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** The ids the server makes for requests that bring none of their own. */
class RequestIdsTest {
    @Test
    void aNewIdIsARandomVersion4UuidInItsUsualTextForm() {
        String id = RequestIds.newId();
        UUID parsed = UUID.fromString(id);

        assertThat(parsed.version()).isEqualTo(4);
        assertThat(parsed.variant()).isEqualTo(2);
        assertThat(parsed.toString()).isEqualTo(id);
        assertThat(id).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    }

    @Test
    void newIdsDoNotRepeat() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            assertThat(seen.add(RequestIds.newId())).isTrue();
        }
    }
}
