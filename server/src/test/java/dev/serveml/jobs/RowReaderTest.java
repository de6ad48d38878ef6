package dev.serveml.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class RowReaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<String> read(InputFormat format, String text, int maxRowChars) throws IOException {
        try (RowReader reader = RowReader.open(format, new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)),
                JSON, maxRowChars)) {
            List<String> rows = new ArrayList<>();
            for (Optional<InputRow> row = reader.next(); row.isPresent(); row = reader.next()) {
                rows.add(switch (row.get()) {
                    case InputRow.Values v -> v.line() + " " + v.fields();
                    case InputRow.Bad b -> shown(b);
                });
            }
            return rows;
        }
    }

    private static String shown(InputRow.Bad b) {
        return b.line() + " BAD " + b.detail();
    }

    @Test
    void csv_rows_keep_their_line_numbers_and_quoted_fields_hold_commas_quotes_and_line_breaks() throws IOException {
        String csv = "\uFEFFid,text,x\r\n1,\"a, \"\"b\"\"\",0.5\r\n\r\n2,\"two\nlines\",7\n3,plain,-1";
        assertThat(read(InputFormat.CSV, csv, 1000)).containsExactly(
                "2 {id=\"1\", text=\"a, \\\"b\\\"\", x=\"0.5\"}",
                "4 {id=\"2\", text=\"two\\nlines\", x=\"7\"}",
                "6 {id=\"3\", text=\"plain\", x=\"-1\"}");
    }

    @Test
    void a_bad_csv_row_fails_alone_and_reading_goes_on_at_the_next_line() throws IOException {
        String csv = "id,x\n1,2\n2,3,4\n3,a\"b\n4,\"c\"d\n5\n6,\"never closed\n7,8\n";
        List<String> rows = read(InputFormat.CSV, csv, 1000);
        assertThat(rows).hasSize(6);
        assertThat(rows.get(0)).isEqualTo("2 {id=\"1\", x=\"2\"}");
        assertThat(rows.get(1)).isEqualTo("3 BAD the row has 3 fields where the header names 2 columns");
        assertThat(rows.get(2)).startsWith("4 BAD field 2 has a quote inside it");
        assertThat(rows.get(3)).startsWith("5 BAD field 2 has 'd' after its closing quote");
        assertThat(rows.get(4)).isEqualTo("6 BAD the row has 1 fields where the header names 2 columns");
        // an unclosed quote swallows the rest of the file: one bad row, at the line where it began
        assertThat(rows.get(5)).isEqualTo("7 BAD a quoted field is not closed before the end of the file");
    }

    @Test
    void a_csv_row_past_the_bound_is_refused_without_being_held_and_the_next_is_read() throws IOException {
        String csv = "id,x\n1," + "9".repeat(5000) + "\n2,3\n";
        assertThat(read(InputFormat.CSV, csv, 100)).containsExactly(
                "2 BAD the row is longer than 100 characters", "3 {id=\"2\", x=\"3\"}");
    }

    @Test
    void an_empty_csv_has_no_header_and_no_rows_and_a_header_alone_has_no_rows() throws IOException {
        for (String text : List.of("", "\n\n", "a,b\n")) {
            try (RowReader reader = RowReader.open(InputFormat.CSV, stream(text), JSON, 100)) {
                assertThat(reader.header()).isEqualTo(text.startsWith("a") ? List.of("a", "b") : List.of());
                assertThat(reader.next()).isEmpty();
            }
        }
    }

    @Test
    void json_lines_skip_blank_lines_and_fail_only_the_lines_that_are_not_objects() throws IOException {
        String jsonl = "{\"id\": 1, \"x\": [1, 2]}\n\n[1]\n{\"id\": \n{\"id\": 4}";
        List<String> rows = read(InputFormat.JSONL, jsonl, 1000);
        assertThat(rows.get(0)).isEqualTo("1 {id=1, x=[1,2]}");
        assertThat(rows.get(1)).isEqualTo("3 BAD the line must be a JSON object of column to value");
        assertThat(rows.get(2)).startsWith("4 BAD the line is not valid JSON");
        assertThat(rows.get(3)).isEqualTo("5 {id=4}");
    }

    @Test
    void a_json_array_is_read_element_by_element_and_broken_json_ends_it_with_one_bad_row() throws IOException {
        assertThat(read(InputFormat.JSON, "[\n{\"id\": 1},\n 7,\n{\"id\": 3}\n]", 1000))
                .containsExactly("2 {id=1}", "3 BAD the row must be a JSON object of column to value", "4 {id=3}");
        List<String> broken = read(InputFormat.JSON, "[{\"id\": 1},\n{\"id\": }\n,{\"id\": 3}]", 1000);
        assertThat(broken).hasSize(2);
        assertThat(broken.get(1)).startsWith("2 BAD the file is not valid JSON here").endsWith("the rows after it were not read");
        assertThat(read(InputFormat.JSON, "{\"id\": 1}", 1000)).singleElement().asString()
                .startsWith("1 BAD the file must be one JSON array");
    }

    @Test
    void a_json_array_element_past_the_bound_fails_alone_and_the_next_is_read() throws IOException {
        String big = "{\"id\": 2, \"rows\": [" + "[1, 2, 3], ".repeat(20_000) + "[4]], \"deep\": {\"x\": \"y\"}}";
        assertThat(read(InputFormat.JSON, "[{\"id\": 1},\n" + big + ",\n{\"id\": 3}]", 1000))
                .containsExactly("1 {id=1}", "2 BAD the row is longer than 1000 bytes", "3 {id=3}");
    }

    @Test
    void a_million_csv_rows_stream_through_without_the_file_in_memory() throws IOException {
        InputStream huge = new InputStream() { // 1,000,000 rows generated as they are read
            private final byte[] header = "id,a,b\n".getBytes(StandardCharsets.US_ASCII);
            private int row = -1;
            private byte[] current = header;
            private int at;

            @Override
            public int read() {
                if (at == current.length) {
                    if (++row >= 1_000_000) {
                        row = 1_000_000;
                        return -1;
                    }
                    current = (row + ",5.1,\"3.5\"\n").getBytes(StandardCharsets.US_ASCII);
                    at = 0;
                }
                return current[at++];
            }
        };
        long rows = 0;
        long lastLine = 0;
        try (RowReader reader = RowReader.open(InputFormat.CSV, huge, JSON, 100)) {
            for (Optional<InputRow> row = reader.next(); row.isPresent(); row = reader.next()) {
                assertThat(row.get()).isInstanceOf(InputRow.Values.class);
                lastLine = row.get().line();
                rows++;
            }
        }
        assertThat(rows).isEqualTo(1_000_000);
        assertThat(lastLine).isEqualTo(1_000_001);
    }

    private static InputStream stream(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }
}
