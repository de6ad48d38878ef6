package dev.serveml.runtime.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the text runtime reads from a Hub repository's {@code config.json} (and the length limit
 * from {@code tokenizer_config.json}).
 *
 * @param modelType     {@code model_type}, e.g. {@code bert}
 * @param architectures e.g. {@code BertForSequenceClassification}
 * @param labels        {@code id2label} in id order; {@code LABEL_i} where the repository names none
 * @param problemType   {@code problem_type}: {@code single_label_classification},
 *                      {@code multi_label_classification}, {@code regression}, or null
 * @param maxLength     the most tokens one input may have: {@code max_position_embeddings} (GPT-2's
 *                      {@code n_positions}), lowered
 *                      to the tokenizer's {@code model_max_length} where that is smaller
 * @param maskToken     the tokenizer's {@code mask_token} (tokenizer_config.json, else
 *                      special_tokens_map.json), or null where it names none
 * @param cleanUpTokenizationSpaces tokenizer_config.json's {@code clean_up_tokenization_spaces}
 *                      (transformers' default, true, when absent): decoded text gets its spaces
 *                      before punctuation removed, as {@code tokenizer.decode} does in Python
 */
public record HfModelConfig(String modelType, List<String> architectures, List<String> labels, String problemType,
                            int maxLength, String maskToken, boolean cleanUpTokenizationSpaces) {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** BERT's limit, for the rare repository whose config names no maximum. */
    private static final int DEFAULT_MAX_LENGTH = 512;

    public HfModelConfig {
        architectures = List.copyOf(architectures);
        labels = List.copyOf(labels);
    }

    /** Reads {@code config.json} (required) and {@code tokenizer_config.json} (optional) in {@code repo}. */
    public static HfModelConfig read(Path repo) {
        JsonNode config = readJson(repo.resolve("config.json"), true);
        List<String> architectures = new ArrayList<>();
        config.path("architectures").forEach(a -> architectures.add(a.asText()));
        JsonNode id2label = config.path("id2label");
        int count = id2label.isObject() ? id2label.size() : config.path("num_labels").asInt(0);
        List<String> labels = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            JsonNode name = id2label.path(Integer.toString(i));
            labels.add(name.isTextual() ? name.asText() : "LABEL_" + i);
        }
        // GPT-2's configs name the context n_positions
        int maxLength = config.path("max_position_embeddings").asInt(config.path("n_positions").asInt(DEFAULT_MAX_LENGTH));
        JsonNode tokenizerConfig = readJson(repo.resolve("tokenizer_config.json"), false);
        JsonNode tokenizerMax = tokenizerConfig.path("model_max_length");
        // transformers writes 1e30 ("no limit") for some tokenizers: only a smaller, integral limit counts
        if (tokenizerMax.isIntegralNumber() && tokenizerMax.asLong() > 0 && tokenizerMax.asLong() < maxLength) {
            maxLength = tokenizerMax.asInt();
        }
        String problemType = config.path("problem_type").isTextual() ? config.path("problem_type").asText() : null;
        String maskToken = tokenText(tokenizerConfig.path("mask_token"));
        if (maskToken == null) {
            maskToken = tokenText(readJson(repo.resolve("special_tokens_map.json"), false).path("mask_token"));
        }
        boolean cleanUp = tokenizerConfig.path("clean_up_tokenization_spaces").asBoolean(true);
        return new HfModelConfig(config.path("model_type").asText(""), architectures, labels, problemType, maxLength,
                maskToken, cleanUp);
    }

    /** A special token as transformers writes it: {@code "[MASK]"} or {@code {"content": "[MASK]", ...}}. */
    private static String tokenText(JsonNode token) {
        if (token.isTextual()) {
            return token.asText();
        }
        return token.path("content").isTextual() ? token.path("content").asText() : null;
    }

    /** The index of the first label starting with {@code prefix} (case-insensitive), or -1. */
    int labelIndex(String prefix) {
        for (int i = 0; i < labels.size(); i++) {
            if (labels.get(i).toLowerCase(java.util.Locale.ROOT).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    private static JsonNode readJson(Path file, boolean required) {
        try {
            JsonNode node = JSON.readTree(Files.readAllBytes(file));
            if (node == null || !node.isObject()) {
                throw new ProblemException(ProblemType.INVALID_MODEL, file.getFileName() + " is not a JSON object");
            }
            return node;
        } catch (NoSuchFileException e) {
            if (required) {
                throw new ProblemException(ProblemType.INVALID_MODEL, "the repository has no " + file.getFileName());
            }
            return JSON.createObjectNode();
        } catch (IOException e) {
            throw new ProblemException(ProblemType.INVALID_MODEL, file.getFileName() + " is not valid JSON");
        }
    }
}
