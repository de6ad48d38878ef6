package dev.serveml.deployments;

import java.util.Locale;

/** Where a deployment's rollout is; {@link #ACTIVE} and {@link #FAILED} are settled. */
public enum DeploymentStatus {
    PENDING, BUILDING, LOADING, ACTIVE, FAILED;

    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean settled() {
        return this == ACTIVE || this == FAILED;
    }

    public static DeploymentStatus parse(String text) {
        return valueOf(text.toUpperCase(Locale.ROOT));
    }
}
