package dev.serveml.e2e;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static dev.serveml.e2e.TestServer.json;
import static org.assertj.core.api.Assertions.assertThat;

/** The batch job routes as a client calls them, over one {@link TestServer} handle and its credential. */
final class JobClient {
    private final TestServer server;

    JobClient(TestServer server) {
        this.server = server;
    }

    /** POST /api/v1/jobs as multipart: the file and the spec field. */
    HttpResponse<String> submit(String fileName, byte[] file, String spec) {
        String boundary = "----serveml" + UUID.randomUUID();
        byte[] body = multipart(boundary, fileName, file, spec);
        return server.post("/api/v1/jobs", "multipart/form-data; boundary=" + boundary, body);
    }

    static byte[] multipart(String boundary, String fileName, byte[] file, String spec) {
        StringBuilder head = new StringBuilder();
        if (spec != null) {
            head.append("--").append(boundary).append("\r\nContent-Disposition: form-data; name=\"spec\"\r\n\r\n")
                    .append(spec).append("\r\n");
        }
        head.append("--").append(boundary).append("\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")
                .append(fileName).append("\"\r\nContent-Type: application/octet-stream\r\n\r\n");
        byte[] start = head.toString().getBytes(StandardCharsets.UTF_8);
        byte[] end = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[start.length + file.length + end.length];
        System.arraycopy(start, 0, all, 0, start.length);
        System.arraycopy(file, 0, all, start.length, file.length);
        System.arraycopy(end, 0, all, start.length + file.length, end.length);
        return all;
    }

    /** Submits and answers the job's id, failing the test on anything but 202. */
    String submitted(String fileName, byte[] file, String spec) {
        HttpResponse<String> r = submit(fileName, file, spec);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return json(r).get("id").asText();
    }

    JsonNode get(String id) {
        HttpResponse<String> r = server.get("/api/v1/jobs/" + id);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    /** Waits until the job has finished, and answers its last state. */
    JsonNode await(String id, Duration limit) {
        return Poll.until(() -> get(id), j -> List.of("completed", "failed", "cancelled")
                .contains(j.get("status").asText()), limit, "job " + id + " to finish");
    }

    HttpResponse<String> result(String id, String query) {
        return server.get("/api/v1/jobs/" + id + "/result" + query);
    }

    /** The result's lines (its CSV header first), after a 200. */
    List<String> resultLines(String id) {
        HttpResponse<String> r = result(id, "");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return lines(r.body());
    }

    List<JsonNode> errors(String id) {
        HttpResponse<String> r = server.get("/api/v1/jobs/" + id + "/errors");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        for (String line : lines(r.body())) {
            out.add(json(line));
        }
        return out;
    }

    static List<String> lines(String body) {
        List<String> out = new ArrayList<>();
        for (String line : body.split("\n", -1)) {
            if (!line.isEmpty()) {
                out.add(line);
            }
        }
        return out;
    }

    HttpResponse<String> raw(HttpRequest.Builder request) {
        return server.send(request.build());
    }
}
