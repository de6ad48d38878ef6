package dev.serveml.server;

import dev.serveml.config.ConfigException;
import dev.serveml.config.ConfigLoader;
import dev.serveml.config.ServemlConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code java -jar serveml.jar}: starts ServeML with configuration from the environment; SIGTERM
 * or Ctrl-C stops it gracefully (see {@link ServemlServer#close}) and exits 0.
 * {@code java -jar serveml.jar config} prints the effective configuration instead (one
 * {@code KEY=value} a line, secrets masked) and exits: 0, or 2 with the problems a start would have.
 */
public final class Main {
    private static final Logger log = LoggerFactory.getLogger(Main.class);

    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length == 1 && args[0].equals("config")) {
            System.exit(printConfig(ConfigLoader::listEnvironment, System.out, System.err));
            return;
        }
        if (args.length > 0) {
            System.err.println("usage: java -jar serveml.jar [config]");
            System.exit(2);
            return;
        }
        ServemlConfig config;
        try {
            config = ConfigLoader.fromEnvironment();
        } catch (ConfigException e) {
            System.err.println("ServeML cannot start: " + e.getMessage());
            System.exit(2);
            return;
        }
        log.info("configuration: {}", config);
        ServemlServer server;
        try {
            server = ServemlServer.start(config);
        } catch (IllegalStateException | java.io.UncheckedIOException e) {
            // What the operator can act on (a port taken, a full disk, another ServeML on the data
            // directory) is said in one line; the trace is for whoever debugs it.
            log.error("ServeML failed to start: {}", e.getMessage());
            log.debug("the start failed here", e);
            System.exit(1);
            return;
        } catch (RuntimeException e) {
            log.error("ServeML failed to start: {}", e.getMessage(), e);
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicBoolean begun = new AtomicBoolean();
        Runnable stop = () -> {
            boolean first = begun.compareAndSet(false, true);
            if (first) {
                log.info("stopping ServeML: finishing the requests in flight (at most {} s)",
                        config.http().shutdownTimeout().toSeconds());
            }
            server.close(); // a later caller waits here for the first one's stop
            if (first) {
                config.http().portFile().ifPresent(Main::deleteQuietly);
                log.info("ServeML stopped");
                stopped.countDown();
            }
        };
        // Any other way out (System.exit, SIGHUP) still stops everything, PostgreSQL included.
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "serveml-shutdown"));
        onStopSignals(() -> {
            stop.run();
            System.exit(0);
        });
        config.http().portFile().ifPresent(file -> writePort(file, server.port()));
        stopped.await();
    }

    /** Prints the listing and answers the exit status: 0, or 2 when the configuration is unusable. */
    static int printConfig(java.util.function.Supplier<java.util.List<String>> listing, java.io.PrintStream out,
                           java.io.PrintStream err) {
        try {
            listing.get().forEach(out::println);
            return 0;
        } catch (ConfigException e) {
            err.println("ServeML cannot start: " + e.getMessage());
            return 2;
        }
    }

    /**
     * Handles SIGTERM and SIGINT itself: the JVM's own handler runs the shutdown hooks and then
     * exits 143 (or 130), which service managers count as a failure although the stop was clean.
     * Reflection, because {@code sun.misc.Signal} is unsupported API that javac warns about; where
     * it is missing the shutdown hook still stops everything.
     */
    private static void onStopSignals(Runnable stop) {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            Object handler = Proxy.newProxyInstance(Main.class.getClassLoader(), new Class<?>[]{handlerType},
                    (proxy, method, arguments) -> switch (method.getName()) {
                        case "handle" -> {
                            // A second signal while stopping starts a second stop that waits for the first.
                            Thread.ofPlatform().name("serveml-stop").start(stop);
                            yield null;
                        }
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == arguments[0];
                        default -> "serveml stop handler";
                    });
            Method handle = signal.getMethod("handle", signal, handlerType);
            for (String name : new String[]{"TERM", "INT"}) {
                handle.invoke(null, signal.getConstructor(String.class).newInstance(name), handler);
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            log.debug("stop signals left to the JVM: {}", e.toString());
        }
    }

    /** Written whole or not at all, so a reader never sees half a number. */
    private static void writePort(Path file, int port) {
        try {
            Path temp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(temp, port + "\n", StandardCharsets.US_ASCII);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.warn("could not write the port to SERVEML_PORT_FILE {}: {}", file, e.getMessage());
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.debug("could not delete {}: {}", file, e.getMessage());
        }
    }
}
