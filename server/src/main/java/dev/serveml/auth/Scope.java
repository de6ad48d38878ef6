package dev.serveml.auth;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/** What a credential may do. {@code admin} implies every other scope. */
public enum Scope {
    PREDICT("predict"),
    MODELS_READ("models:read"),
    MODELS_WRITE("models:write"),
    DEPLOYMENTS_WRITE("deployments:write"),
    ADMIN("admin");

    private final String value;

    Scope(String value) {
        this.value = value;
    }

    public String value() {
        return value;
    }

    public static Optional<Scope> parse(String text) {
        return Arrays.stream(values()).filter(s -> s.value.equals(text)).findFirst();
    }

    /** Every scope but admin: what a signed-in user holds. */
    public static Set<Scope> userScopes() {
        return EnumSet.complementOf(EnumSet.of(ADMIN));
    }
}
