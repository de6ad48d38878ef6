package dev.serveml.ratelimit;

import dev.serveml.auth.Allowance;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Role;
import dev.serveml.auth.Scope;
import dev.serveml.config.AuthConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestLimitsTest {
    private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);
    private final InstantSource clock = () -> Instant.ofEpochMilli(millis.get());
    private final RequestLimits limits = new RequestLimits(new LocalRateLimiter(clock), config(3));

    private static AuthConfig config(int signInPerMinute) {
        return new AuthConfig(true, "", Duration.ofMinutes(15), Duration.ofDays(7), "", true, 4, 10, 1000, 600,
                List.of(), List.of(), List.of(), signInPerMinute, 1, Duration.ofSeconds(30),
                Duration.ofMinutes(15));
    }

    private static Principal key(long id, int perMinute, int quota, List<Allowance> inherited) {
        return new Principal(7, "u", Role.USER, Set.of(Scope.PREDICT), id, "127.0.0.1", perMinute, quota, inherited);
    }

    @Test
    void signInsFromOneAddressShareASmallBucketAndOtherAddressesHaveTheirOwn() {
        for (int i = 0; i < 3; i++) {
            assertThat(limits.admitSignIn("192.0.2.1").join().allowed()).isTrue();
        }
        Decision refused = limits.admitSignIn("192.0.2.1").join();
        assertThat(refused.allowed()).isFalse();
        assertThat(refused.retryAfterSeconds()).isBetween(1L, 60L);
        assertThat(limits.admitSignIn("192.0.2.2").join().allowed()).isTrue();

        millis.addAndGet(20_000);
        assertThat(limits.admitSignIn("192.0.2.1").join().allowed()).as("refilled at 3 a minute").isTrue();
    }

    @Test
    void anIpv6ClientCountsByItsSlash64() {
        assertThat(RequestLimits.network("2001:db8:1:2::1")).isEqualTo(RequestLimits.network("2001:db8:1:2:ffff::9"));
        assertThat(RequestLimits.network("2001:db8:1:3::1")).isNotEqualTo(RequestLimits.network("2001:db8:1:2::1"));
        assertThat(RequestLimits.network("::ffff:192.0.2.1")).isEqualTo("192.0.2.1");
        assertThat(RequestLimits.network("192.0.2.1")).isEqualTo("192.0.2.1");
        for (int i = 0; i < 3; i++) {
            limits.admitSignIn("2001:db8:1:2::" + (i + 1)).join();
        }
        assertThat(limits.admitSignIn("2001:db8:1:2::99").join().allowed()).isFalse();
    }

    @Test
    void childKeysDrawFromTheirParentsBucketSoTheyCannotAddUpToMore() {
        Principal parent = key(1, 5, 0, List.of());
        Principal childA = key(2, 5, 0, List.of(new Allowance(1, 5, 0)));
        Principal childB = key(3, 5, 0, List.of(new Allowance(1, 5, 0)));
        assertThat(limits.admitNow(childA).allowed()).isTrue();
        assertThat(limits.admit(childB).join().allowed()).isTrue();
        assertThat(limits.admitNow(parent).allowed()).isTrue();
        assertThat(limits.admitNow(childA).allowed()).isTrue();
        assertThat(limits.admitNow(childB).allowed()).isTrue();
        Decision sixth = limits.admitNow(childA);
        assertThat(sixth.allowed()).as("the parent's 5 a minute are spent").isFalse();
        assertThat(sixth.limit()).isEqualTo(5);
        assertThat(limits.admit(parent).join().allowed()).isFalse();
    }

    @Test
    void aParentsDailyQuotaBoundsItsChildren() {
        Principal child = key(2, 0, 0, List.of(new Allowance(1, 0, 2)));
        assertThat(limits.admitNow(child)).as("a quota is only taken on the full path").isNull();
        assertThat(limits.admit(child).join().allowed()).isTrue();
        assertThat(limits.admit(key(1, 0, 2, List.of())).join().allowed()).isTrue();
        assertThatThrownBy(() -> limits.admit(child).join()).isInstanceOf(CompletionException.class)
                .cause().isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.type()).isEqualTo(ProblemType.QUOTA_EXCEEDED);
                    assertThat(e.detail()).contains("created with");
                });
    }
}
