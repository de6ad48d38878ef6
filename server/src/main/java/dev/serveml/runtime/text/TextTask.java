package dev.serveml.runtime.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.serveml.runtime.Parameters;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One of the Hugging Face pipelines the text runtime serves. Each owns its signature, which
 * parameters it takes and how it checks them, and how model outputs become answers; the
 * tokenizer, the padding and the ONNX call are {@link TextEncoder}'s, shared by all.
 *
 * <p>How answers travel: every output is a typed tensor of the signature with one row per input
 * row, so V2 clients get them as they get any model's and the batcher cuts a stacked answer back
 * by rows. Where the answer has a fixed width per call (classification's top k labels, zero-shot's
 * candidate labels, an embedding, a ranking score) it is plain FP32/BYTES tensors. Where it is
 * ragged within a call (entities per text, answers per question, predictions per mask) each row
 * is one BYTES element holding that row's answer as Hugging Face's JSON: padding it into tensors
 * would take half a dozen outputs plus counts that every client would have to reassemble, and the
 * native route writes the element as it is, without decoding it again.
 *
 * <p>Implementations are thread-safe: {@link #infer} runs on many threads at once.
 */
sealed interface TextTask extends AutoCloseable
        permits TextClassifier, TokenClassifier, FeatureExtractor, QuestionAnswerer, MaskFiller, ZeroShotClassifier,
        CrossEncoderRanker, TextGenerator {
    /**
     * Inputs one request may send: the ONNX call pads them all to the longest, so a list far past a
     * batch costs memory for nothing; clients split larger lists.
     */
    int MAX_TEXTS = 256;

    /** The task's name, as Hugging Face's pipeline_tag spells it. */
    String name();

    Signature signature();

    /** What the version's metadata shows as {@code labels}: the classes it answers, or none. */
    List<String> labels();

    /** Whether the batcher may stack calls into one model call (generation runs a loop per call: no). */
    default boolean batchable() {
        return true;
    }

    /** Refuses inputs and parameters before they are queued (see {@code LoadedModel.check}). */
    void check(List<Tensor> inputs, Parameters parameters);

    Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs, Parameters parameters);

    @Override
    void close();

    /** Writes one row's answer in Hugging Face's JSON. */
    interface JsonWriter {
        void write(JsonGenerator g) throws IOException;
    }

    /** One row's answer as JSON bytes, the element of a BYTES answer tensor. */
    static byte[] json(JsonWriter writer) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
            writer.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write an answer", e);
        }
        return out.toByteArray();
    }

    /** The JSON factory the tasks share (thread-safe). */
    final class Json {
        static final JsonFactory FACTORY = new JsonFactory();

        private Json() {
        }
    }
}
