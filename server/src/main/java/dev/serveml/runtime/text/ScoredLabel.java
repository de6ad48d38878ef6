package dev.serveml.runtime.text;

/** One entry of Hugging Face's classification answer: {@code {"label": "POSITIVE", "score": 0.99}}. */
public record ScoredLabel(String label, double score) {
}
