package dev.serveml.deployments;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** How a rollout names a traffic policy in events and the audit log. */
class RolloutTest {
    @Test
    void describesEverySplitThenTheShadowAndTheStickyHeader() {
        TrafficPolicy canary = new TrafficPolicy(List.of(new TrafficPolicy.Split(1, 90), new TrafficPolicy.Split(2, 10)),
                Optional.of(3), Optional.of("X-User"));
        assertThat(Rollout.describe(canary)).isEqualTo("v1 90%, v2 10%, shadow v3, sticky on X-User");
    }

    @Test
    void describesAWholePolicyAsItsOneVersion() {
        TrafficPolicy whole = new TrafficPolicy(List.of(new TrafficPolicy.Split(4, 100)), Optional.empty(),
                Optional.empty());
        assertThat(Rollout.describe(whole)).isEqualTo("v4 100%");
    }
}
