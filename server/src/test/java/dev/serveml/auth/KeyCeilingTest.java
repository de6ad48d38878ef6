package dev.serveml.auth;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeyCeilingTest {
    private static final int SERVER_LIMIT = 600;
    private static final Instant TOMORROW = Instant.parse("2030-01-02T00:00:00Z");

    private static Principal session(Role role) {
        return new Principal(7, "u", role, role == Role.ADMIN ? EnumSet.allOf(Scope.class) : Scope.userScopes(), 0,
                "127.0.0.1", 0, 0);
    }

    private static ApiKey parent(Integer perMinute, Integer quota, Instant expires, Set<Scope> scopes) {
        return new ApiKey(42, 7, "parent", "abc", "hash", scopes, perMinute, quota, Instant.EPOCH, expires, null, null);
    }

    private static Principal keyCaller(ApiKey parent, Role role) {
        return new Principal(7, "u", role, parent.scopes(), parent.id(), "127.0.0.1", 0, 0);
    }

    private static KeyRequest wants(Set<Scope> scopes, Integer perMinute, Integer quota, Instant expires) {
        return new KeyRequest("k", scopes, expires, perMinute, quota);
    }

    private static void refused(Runnable r, ProblemType type, String pointer) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(ProblemException.class, e -> {
            assertThat(e.type()).isEqualTo(type);
            assertThat(e.toString() + e.errors()).contains(pointer);
        });
    }

    @Test
    void aUsersKeyLimitIsCappedByTheServersLimitAndAnAdminMayRaiseIt() {
        KeyCeiling user = KeyCeiling.of(session(Role.USER), Optional.empty(), SERVER_LIMIT);
        refused(() -> user.grant(wants(Set.of(Scope.PREDICT), Integer.MAX_VALUE, null, null)), ProblemType.LIMIT_TOO_HIGH,
                "/rate_limit_per_minute");
        assertThat(user.grant(wants(Set.of(Scope.PREDICT), SERVER_LIMIT, null, null)).rateLimitPerMinute())
                .isEqualTo(SERVER_LIMIT);
        assertThat(user.grant(wants(Set.of(Scope.PREDICT), null, 1_000_000, null)).dailyQuota()).isEqualTo(1_000_000);

        KeyCeiling admin = KeyCeiling.of(session(Role.ADMIN), Optional.empty(), SERVER_LIMIT);
        assertThat(admin.grant(wants(Set.of(Scope.PREDICT), 100_000, null, null)).rateLimitPerMinute()).isEqualTo(100_000);
    }

    @Test
    void aKeyCreatesOnlyKeysWithinItsOwnScopesLimitsAndExpiry() {
        ApiKey limited = parent(5, 10, TOMORROW, Set.of(Scope.PREDICT, Scope.MODELS_READ));
        KeyCeiling ceiling = KeyCeiling.of(keyCaller(limited, Role.USER), Optional.of(limited), SERVER_LIMIT);

        refused(() -> ceiling.grant(wants(Set.of(Scope.MODELS_WRITE), null, null, null)), ProblemType.INSUFFICIENT_SCOPE,
                "/scopes");
        refused(() -> ceiling.grant(wants(Set.of(Scope.PREDICT), 6, null, null)), ProblemType.INSUFFICIENT_SCOPE,
                "/rate_limit_per_minute");
        refused(() -> ceiling.grant(wants(Set.of(Scope.PREDICT), null, 11, null)), ProblemType.INSUFFICIENT_SCOPE,
                "/daily_quota");
        refused(() -> ceiling.grant(wants(Set.of(Scope.PREDICT), null, null, TOMORROW.plusSeconds(1))),
                ProblemType.INSUFFICIENT_SCOPE, "/expires_at");

        KeyRequest inherited = ceiling.grant(wants(Set.of(Scope.PREDICT), null, null, null));
        assertThat(inherited.rateLimitPerMinute()).as("left out: the parent's").isEqualTo(5);
        assertThat(inherited.dailyQuota()).isEqualTo(10);
        assertThat(inherited.expiresAt()).isEqualTo(TOMORROW);
        KeyRequest narrower = ceiling.grant(wants(Set.of(Scope.PREDICT), 2, 3, TOMORROW.minusSeconds(60)));
        assertThat(narrower).isEqualTo(wants(Set.of(Scope.PREDICT), 2, 3, TOMORROW.minusSeconds(60)));
    }

    @Test
    void aParentWithoutALimitOfItsOwnIsBoundedByTheServersLimitUnlessItIsAnAdminsKey() {
        ApiKey open = parent(null, null, null, Set.of(Scope.PREDICT));
        KeyCeiling user = KeyCeiling.of(keyCaller(open, Role.USER), Optional.of(open), SERVER_LIMIT);
        refused(() -> user.grant(wants(Set.of(Scope.PREDICT), SERVER_LIMIT + 1, null, null)), ProblemType.LIMIT_TOO_HIGH,
                "/rate_limit_per_minute");
        assertThat(user.grant(wants(Set.of(Scope.PREDICT), null, null, null)).rateLimitPerMinute()).isNull();

        ApiKey adminKey = parent(null, null, null, EnumSet.allOf(Scope.class));
        KeyCeiling admin = KeyCeiling.of(keyCaller(adminKey, Role.ADMIN), Optional.of(adminKey), SERVER_LIMIT);
        assertThat(admin.grant(wants(Set.of(Scope.PREDICT), 100_000, null, null)).rateLimitPerMinute()).isEqualTo(100_000);
        ApiKey limitedAdminKey = parent(50, null, null, EnumSet.allOf(Scope.class));
        KeyCeiling limitedAdmin = KeyCeiling.of(keyCaller(limitedAdminKey, Role.ADMIN), Optional.of(limitedAdminKey),
                SERVER_LIMIT);
        refused(() -> limitedAdmin.grant(wants(Set.of(Scope.PREDICT), 51, null, null)), ProblemType.INSUFFICIENT_SCOPE,
                "/rate_limit_per_minute");
    }

    @Test
    void aKeysTokenLimitsBoundTheKeysItCreatesAndAreInheritedWhenLeftOut() {
        ApiKey limited = new ApiKey(42, 7, "parent", "abc", "hash", Set.of(Scope.PREDICT), null, null, Instant.EPOCH,
                null, null, null, 1000, 50_000);
        KeyCeiling ceiling = KeyCeiling.of(keyCaller(limited, Role.USER), Optional.of(limited), SERVER_LIMIT);
        refused(() -> ceiling.grant(new KeyRequest("k", Set.of(Scope.PREDICT), null, null, null, 1001, null)),
                ProblemType.INSUFFICIENT_SCOPE, "/tokens_per_minute");
        refused(() -> ceiling.grant(new KeyRequest("k", Set.of(Scope.PREDICT), null, null, null, null, 50_001)),
                ProblemType.INSUFFICIENT_SCOPE, "/tokens_per_day");
        KeyRequest inherited = ceiling.grant(new KeyRequest("k", Set.of(Scope.PREDICT), null, null, null));
        assertThat(inherited.tokensPerMinute()).isEqualTo(1000);
        assertThat(inherited.tokensPerDay()).isEqualTo(50_000);
        KeyRequest lower = ceiling.grant(new KeyRequest("k", Set.of(Scope.PREDICT), null, null, null, 10, 20));
        assertThat(lower.tokensPerMinute()).isEqualTo(10);
        assertThat(lower.tokensPerDay()).isEqualTo(20);
        KeyCeiling session = KeyCeiling.of(session(Role.USER), Optional.empty(), SERVER_LIMIT);
        assertThat(session.grant(new KeyRequest("k", Set.of(Scope.PREDICT), null, null, null)).tokensPerMinute())
                .as("no limit unless asked").isNull();
    }
}
