package dev.serveml.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.registry.ModelRegistry;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The name rule is written once (ModelRegistry.NAME); the dashboard and the API description state that same rule. */
class NameRuleTest {
    private static final String RULE = "^" + ModelRegistry.NAME.pattern() + "$";

    @Test
    void theDashboardsRulesModuleCarriesTheServersNameRule() {
        assertThat(WebHandler.rulesScript()).contains("export const NAME = new RegExp(\"" + RULE + "\");");
        assertThat(ModelRegistry.NAME.matcher("a".repeat(64)).matches()).isTrue();
        assertThat(ModelRegistry.NAME.matcher("a".repeat(65)).matches()).as("64 characters at most").isFalse();
    }

    @Test
    void everyNamePatternInTheApiDescriptionIsTheServersRule() throws Exception {
        JsonNode api;
        try (InputStream in = NameRuleTest.class.getClassLoader().getResourceAsStream("openapi.json")) {
            api = new ObjectMapper().readTree(in);
        }
        List<String> namePatterns = new ArrayList<>();
        collect(api, namePatterns);
        assertThat(namePatterns).hasSizeGreaterThanOrEqualTo(3).containsOnly(RULE);
        assertThat(api.at("/components/parameters/ModelName/schema/maxLength").asInt()).isEqualTo(64);
    }

    /** Patterns that start like a name rule: the model and deployment names. */
    private static void collect(JsonNode node, List<String> out) {
        if (node.isObject() && node.path("pattern").isTextual()
                && node.get("pattern").asText().startsWith("^[A-Za-z0-9][A-Za-z0-9._-]")) {
            out.add(node.get("pattern").asText());
        }
        node.forEach(child -> collect(child, out));
    }
}
