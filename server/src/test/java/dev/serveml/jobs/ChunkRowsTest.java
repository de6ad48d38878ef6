package dev.serveml.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.server.ServemlServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A chunk's rows come back from its file exactly as the split wrote them, whatever their values. */
class ChunkRowsTest {
    private final ObjectMapper json = ServemlServer.objectMapper();

    @Test
    void rowsOfTextNumbersNullsNestedValuesAndBadRowsRoundTrip(@TempDir Path dir) throws Exception {
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        fields.put("id", json.readTree("7"));
        fields.put("text", json.readTree("\"a \\\"quoted\\\"\\nline, with a comma\""));
        fields.put("x", json.readTree("[[1.5, 2], {\"k\": null}]"));
        fields.put("n", json.readTree("null"));
        fields.put("b", json.readTree("true"));
        List<InputRow> rows = List.of(new InputRow.Values(2, fields), new InputRow.Bad(3, "the row has 2 fields"),
                new InputRow.Values(5, Map.of()));
        Path file = dir.resolve("chunk");
        ChunkRows.write(file, rows, json);
        assertThat(ChunkRows.read(file, json)).isEqualTo(rows);
    }
}
