package dev.serveml.server;

import java.lang.reflect.InvocationTargetException;

/**
 * The JAR's entry point, compiled for Java 8 (server/pom.xml) so that an older JVM gets far
 * enough to say what is wrong: every other class is compiled for Java 21, and a JVM older than
 * that stops at them with a bare {@code UnsupportedClassVersionError}. Hands over to {@link Main}.
 */
public final class Launcher {
    static final int REQUIRED = 21;

    private Launcher() {
    }

    public static void main(String[] args) throws Throwable {
        String spec = System.getProperty("java.specification.version", "0");
        if (feature(spec) < REQUIRED) {
            System.err.println("ServeML needs Java " + REQUIRED + " or newer; this is Java " + spec + " ("
                    + System.getProperty("java.home") + "). scripts/run finds a JDK " + REQUIRED
                    + "+ under /usr/lib/jvm (or set SERVEML_JAVA_HOME); the README's Set-up section says where to "
                    + "get one.");
            System.exit(1);
        }
        try {
            // By name: a direct reference would make this class need Java 21 to load as well.
            Class.forName("dev.serveml.server.Main").getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** The feature release in a {@code java.specification.version}: "1.8" is 8, "17" is 17; 0 if unreadable. */
    static int feature(String spec) {
        String s = spec.startsWith("1.") ? spec.substring(2) : spec;
        int end = 0;
        while (end < s.length() && Character.isDigit(s.charAt(end))) {
            end++;
        }
        return end == 0 ? 0 : Integer.parseInt(s.substring(0, end));
    }
}
