package dev.serveml.auth;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Which keys a key may see and manage: itself and those created from it, at any depth, and no others. */
class AuthServiceLineageTest {
    @Test
    void aKeysLineageIsItselfAndEveryKeyCreatedFromItAtAnyDepthInAnyListOrder() {
        // 1 → 2 → 3 → 4, 1 → 5; 6 is the user's other root, 7 its child. Listed children first.
        List<ApiKey> keys = List.of(key(4, 3L), key(7, 6L), key(3, 2L), key(5, 1L), key(2, 1L), key(1, null),
                key(6, null));

        assertThat(AuthService.lineage(keys, 1)).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L);
        assertThat(AuthService.lineage(keys, 3)).as("a child sees no parent nor sibling").containsExactlyInAnyOrder(3L, 4L);
        assertThat(AuthService.lineage(keys, 6)).containsExactlyInAnyOrder(6L, 7L);
        assertThat(AuthService.lineage(keys, 4)).containsExactly(4L);
    }

    @Test
    void aKeyNotInTheListHasOnlyItselfAsLineage() {
        assertThat(AuthService.lineage(List.of(key(1, null), key(2, 1L)), 99)).containsExactly(99L);
    }

    private static ApiKey key(long id, Long parent) {
        return new ApiKey(id, 1, "k" + id, "sk_" + id, "hash", Set.of(Scope.PREDICT), null, null, Instant.EPOCH, null,
                null, parent);
    }
}
