package dev.serveml.auth;

import java.util.Locale;

/** A user's role: admins see and change everything. */
public enum Role {
    ADMIN, USER;

    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Role parse(String text) {
        return valueOf(text.toUpperCase(Locale.ROOT));
    }
}
