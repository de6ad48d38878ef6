package dev.serveml.runtime.text;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.util.List;
import java.util.Map;

/**
 * Which task a repository is served as (Contract 1 of issue 14): serveml.json's {@code task} (the
 * user's override) wins; else its {@code pipeline_tag} where that names a served task (the Hub's
 * {@code sentence-similarity} is served as feature-extraction, or as text-ranking by a one-label
 * cross-encoder); else config.json's architecture. Hugging Face itself picks a pipeline by the tag,
 * so an NLI model or a cross-encoder without one is served as the text-classification model its
 * architecture says it is.
 *
 * @param task   the task, or null where only the ONNX export can tell (no architecture named)
 * @param source what named it: {@code serveml.json task}, {@code pipeline_tag} or {@code config.json}
 * @param hf     the repository's config
 */
record TaskChoice(String task, String source, HfModelConfig hf) {
    /** The tasks served, in Hugging Face's names. */
    static final List<String> TASKS = List.of("text-classification", "token-classification", "feature-extraction",
            "fill-mask", "question-answering", "zero-shot-classification", "text-ranking", "text-generation");
    /** The architecture endings transformers gives each head, and the task each serves. */
    private static final Map<String, String> HEADS = Map.of(
            "ForSequenceClassification", "text-classification",
            "ForTokenClassification", "token-classification",
            "ForQuestionAnswering", "question-answering",
            "ForMaskedLM", "fill-mask",
            "LMHeadModel", "text-generation", // GPT2LMHeadModel
            "ForCausalLM", "text-generation");

    static TaskChoice of(HfModelConfig hf, ServemlJson serveml) {
        if (serveml.task() != null) {
            if (!TASKS.contains(serveml.task())) {
                throw new ProblemException(ProblemType.UNSUPPORTED_MODEL_FORMAT, "the task '" + serveml.task()
                        + "' is not served; the text runtime serves " + String.join(", ", TASKS));
            }
            return new TaskChoice(serveml.task(), "serveml.json task", hf);
        }
        String tag = serveml.pipelineTag();
        String detected = detect(hf);
        if (tag != null && TASKS.contains(tag)) {
            return new TaskChoice(tag, "pipeline_tag", hf);
        }
        if ("sentence-similarity".equals(tag)) {
            return new TaskChoice("text-classification".equals(detected) && hf.labels().size() == 1 ? "text-ranking"
                    : "feature-extraction", "pipeline_tag", hf);
        }
        if (detected == null && !hf.architectures().isEmpty()) {
            throw unsupported(hf);
        }
        return new TaskChoice(detected, "config.json", hf);
    }

    /** The task config.json's architecture names, or null. */
    private static String detect(HfModelConfig hf) {
        for (String architecture : hf.architectures()) {
            for (Map.Entry<String, String> head : HEADS.entrySet()) {
                if (architecture.endsWith(head.getKey())) {
                    return head.getValue();
                }
            }
            if (architecture.endsWith("Model") && !architecture.contains("For")) {
                return "feature-extraction"; // BertModel, XLMRobertaModel, MPNetModel: a bare encoder
            }
        }
        return null;
    }

    static ProblemException unsupported(HfModelConfig hf) {
        return new ProblemException(ProblemType.UNSUPPORTED_MODEL_FORMAT, "the repository's architecture "
                + (hf.architectures().isEmpty() ? "(config.json names none)" : String.join(", ", hf.architectures()))
                + " is not served; the text runtime serves " + String.join(", ", TASKS) + " (heads *"
                + String.join(", *", HEADS.keySet().stream().sorted().toList()) + ", or a bare encoder answering "
                + "last_hidden_state); name the task in serveml.json's \"task\" or export the model with "
                + "optimum-cli export onnx --task <task>");
    }
}
