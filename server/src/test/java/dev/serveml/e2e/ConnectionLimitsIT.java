package dev.serveml.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Slow, idle and surplus connections, made the way an attacker makes them (raw sockets on
 * loopback), against a real server with short limits: each is cut off while a normal client
 * next to it keeps being served.
 */
class ConnectionLimitsIT {
    private static final String LIVE = "GET /health/live HTTP/1.1\r\nHost: serveml\r\n\r\n";

    @TempDir
    Path dataDir;

    @Test
    void aSlowlorisClientIsCutOffAtTheHeaderTimeoutWhileANormalClientIsServed() throws Exception {
        try (TestServer server = TestServer.start(dataDir, Map.of("SERVEML_HTTP_HEADER_TIMEOUT", "2s"));
             Socket slow = connect(server)) {
            OutputStream out = slow.getOutputStream();
            out.write("GET /health/live HTTP/1.1\r\nHost: serveml\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
            AtomicInteger sent = new AtomicInteger();
            List<Integer> normal = new CopyOnWriteArrayList<>();
            // One header byte a second: the head would be complete only after 60 s.
            Thread dripper = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 60; i++) {
                        out.write('a');
                        out.flush();
                        sent.incrementAndGet();
                        normal.add(server.get("/health/live").statusCode());
                        // Not a wait for a condition: the slow client drips one byte a second.
                        Thread.sleep(1000);
                    }
                    out.write("\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                } catch (IOException | InterruptedException e) {
                    // cut off: what the test waits for
                }
            });

            assertThat(readToEnd(slow.getInputStream())).as("no answer, the connection is closed").isEmpty();
            dripper.interrupt();
            dripper.join();
            assertThat(sent.get()).as("cut off long before the head was complete").isLessThan(30);
            assertThat(normal).as("the normal client meanwhile").isNotEmpty().containsOnly(200);
            assertThat(server.get("/health/live").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeoutButServesRequestsUntilThen() throws Exception {
        try (TestServer server = TestServer.start(dataDir, Map.of("SERVEML_HTTP_IDLE_TIMEOUT", "2s"));
             Socket idle = connect(server)) {
            idle.getOutputStream().write(LIVE.getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(idle.getInputStream())).startsWith("HTTP/1.1 200");
            idle.getOutputStream().write(LIVE.getBytes(StandardCharsets.US_ASCII));
            assertThat(readResponse(idle.getInputStream())).as("kept alive between requests").startsWith("HTTP/1.1 200");

            assertThat(readToEnd(idle.getInputStream())).as("closed once idle, with nothing more sent").isEmpty();
            assertThat(server.get("/health/live").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void connectionsOverTheMaximumAreClosedWhileTheOpenOnesKeepWorking() throws Exception {
        try (TestServer server = TestServer.start(dataDir, Map.of("SERVEML_HTTP_MAX_CONNECTIONS", "4"))) {
            List<Socket> answered = new ArrayList<>();
            int dropped = 0;
            List<Socket> all = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    Socket s = connect(server);
                    all.add(s);
                    String answer;
                    try {
                        s.getOutputStream().write(LIVE.getBytes(StandardCharsets.US_ASCII));
                        answer = readResponse(s.getInputStream());
                    } catch (SocketException e) {
                        answer = ""; // reset: closed before the request was read
                    }
                    if (answer.startsWith("HTTP/1.1 200")) {
                        answered.add(s);
                    } else {
                        assertThat(answer).as("closed without an answer").isEmpty();
                        dropped++;
                    }
                }
                // The test's own HTTP client may hold a connection of the four.
                assertThat(answered).hasSizeBetween(3, 4);
                assertThat(dropped).isEqualTo(8 - answered.size());
                for (Socket s : answered) {
                    s.getOutputStream().write(LIVE.getBytes(StandardCharsets.US_ASCII));
                    assertThat(readResponse(s.getInputStream())).startsWith("HTTP/1.1 200");
                }
            } finally {
                for (Socket s : all) {
                    s.close();
                }
            }
            // Closed connections make room again (their close reaches the server a moment later).
            String answer = Poll.until(() -> {
                try (Socket s = connect(server)) {
                    s.getOutputStream().write(LIVE.getBytes(StandardCharsets.US_ASCII));
                    return readResponse(s.getInputStream());
                } catch (SocketException e) {
                    return "";
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, a -> a.startsWith("HTTP/1.1 200"), Duration.ofSeconds(30), "a closed connection to make room");
            assertThat(answer).startsWith("HTTP/1.1 200");
        }
    }

    private static Socket connect(TestServer server) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", server.server().port()), 5_000);
        s.setSoTimeout(30_000); // bounds each read: far beyond every limit under test
        return s;
    }

    /** One HTTP/1.1 answer with a Content-Length body: its status line, or "" when the connection ended. */
    private static String readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                return "";
            }
            head.write(b);
        }
        String text = head.toString(StandardCharsets.US_ASCII);
        int length = 0;
        for (String line : text.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        in.readNBytes(length);
        return text.substring(0, text.indexOf("\r\n"));
    }

    /** Everything until the server closes; a read timeout (the server holding on) fails the test. */
    private static String readToEnd(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            in.transferTo(out);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server kept the connection open for 30 s", e);
        } catch (SocketException e) {
            // reset: closed as well
        }
        return out.toString(StandardCharsets.US_ASCII);
    }
}
