package dev.serveml.problem;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The OpenAPI description lists exactly the problem codes the catalogue has. */
class ProblemCatalogueDocumentedTest {
    @Test
    void theOpenApiProblemCodeEnumIsTheCatalogue() throws Exception {
        JsonNode spec;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("openapi.json")) {
            spec = new ObjectMapper().readTree(in);
        }
        List<String> documented = new ArrayList<>();
        spec.at("/components/schemas/Problem/properties/code/enum").forEach(c -> documented.add(c.asText()));
        assertThat(documented).isEqualTo(Arrays.stream(ProblemType.values()).map(ProblemType::code).toList());
    }
}
