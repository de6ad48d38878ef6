package dev.serveml.e2e;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A multipart body may reach the server split anywhere between TCP reads: in a form field's value,
 * a part's headers, the boundary, the file. Every split gives the same answer: the form field
 * before the file (OpenAI's {@code purpose}) reads as sent, and the file keeps its exact size. A
 * read that ended between the CR and the LF before a boundary once left {@code purpose} as
 * {@code batch\r} (netty/netty#12729) and failed CI one run in many.
 */
class MultipartPiecesIT {
    @RegisterExtension
    static final SharedServer shared = new SharedServer();
    static TestServer server;
    static String token;
    private static final byte[] FILE = "{\"custom_id\": \"a\", \"method\": \"POST\", \"url\": \"/v1/embeddings\"}\n"
            .getBytes(StandardCharsets.UTF_8);

    @BeforeAll
    static void start() {
        server = shared.server();
        token = server.newUser("mp-alice");
    }

    @Test
    void aFormFieldSplitAtAnyByteIsReadWhole() throws IOException, InterruptedException {
        String boundary = "mp-boundary-0123456789";
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n")
                .getBytes(StandardCharsets.UTF_8));
        body.writeBytes(TestServer.multipart(boundary, "file", "requests.jsonl", FILE));
        byte[] bytes = body.toByteArray();
        List<String> wrong = new ArrayList<>();
        for (int split = 1; split < bytes.length; split++) {
            String answer = send(bytes, split);
            if (!answer.startsWith("HTTP/1.1 200") || !answer.contains("\"bytes\":" + FILE.length + ",")) {
                wrong.add("split at " + split + ": " + answer.lines().findFirst().orElse("") + " "
                        + answer.substring(Math.max(0, answer.indexOf("\r\n\r\n"))).strip());
            }
        }
        assertThat(wrong).isEmpty();
    }

    /** Sends the headers, then the body in two writes split at {@code split}, and reads the answer. */
    private static String send(byte[] body, int split) throws IOException, InterruptedException {
        try (Socket socket = new Socket("127.0.0.1", server.uri("/").getPort())) {
            socket.setSoTimeout(10_000);
            socket.setTcpNoDelay(true);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
                    + "\r\nContent-Type: multipart/form-data; boundary=mp-boundary-0123456789\r\nContent-Length: "
                    + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            Thread.sleep(2);
            out.write(body, 0, split);
            out.flush();
            Thread.sleep(5);
            out.write(body, split, body.length - split);
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
