package dev.serveml.server;

import dev.serveml.config.ConfigException;
import dev.serveml.config.ConfigLoader;
import dev.serveml.config.ServemlConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CountDownLatch;

/** {@code java -jar serveml.jar}: starts ServeML with configuration from the environment; stops on SIGTERM/Ctrl-C. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        // Never let the tokenizer library or ONNX Runtime reach for the network.
        System.setProperty("DJL_OFFLINE", "true");
        Logger log = LoggerFactory.getLogger(Main.class);
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
        } catch (RuntimeException e) {
            log.error("ServeML failed to start: {}", e.getMessage(), e);
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping ServeML");
            server.close();
            stopped.countDown();
        }, "serveml-shutdown"));
        stopped.await();
    }
}
