package dev.serveml.runtime.text;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.tensor.Tensor;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One BYTES input of a text task as strings, one per row.
 *
 * @param name   the input's name
 * @param named  whether errors name the row's field ({@code /inputs/1/context}, Hugging Face's list
 *               of objects) rather than the row alone ({@code /inputs/1}, a list of texts)
 * @param values the rows
 */
record TextColumn(String name, boolean named, List<String> values) {
    TextColumn {
        values = List.copyOf(values);
    }

    /** The input {@code name}; bytes that are not UTF-8 are a 422 naming the row. */
    static TextColumn read(List<Tensor> inputs, String name, boolean named) {
        Tensor t = inputs.stream().filter(i -> i.name().equals(name)).findFirst()
                .orElseThrow(() -> ProblemException.field(ProblemType.MISSING_INPUT, "/inputs",
                        "send the " + name));
        List<String> texts = new ArrayList<>(t.bytes().size());
        var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        for (int i = 0; i < t.bytes().size(); i++) {
            try {
                texts.add(decoder.decode(ByteBuffer.wrap(t.bytes().get(i))).toString());
            } catch (CharacterCodingException e) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, pointer(name, named, i), "the text is not UTF-8");
            }
        }
        return new TextColumn(name, named, texts);
    }

    String pointer(int row) {
        return pointer(name, named, row);
    }

    private static String pointer(String name, boolean named, int row) {
        return "/inputs/" + row + (named ? "/" + name : "");
    }

    /** At least one row, at most {@link TextTask#MAX_TEXTS}, none blank. */
    TextColumn requireTexts() {
        if (values.isEmpty()) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, "/inputs", "send at least one text");
        }
        if (values.size() > TextTask.MAX_TEXTS) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, "/inputs", "at most " + TextTask.MAX_TEXTS
                    + " texts per request, got " + values.size() + "; split the list");
        }
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i).isBlank()) {
                throw ProblemException.field(ProblemType.INVALID_INPUT, pointer(i), "the text is empty");
            }
        }
        return this;
    }

    /** This column and {@code other} have a row each for the same inputs. */
    void requireSameRows(TextColumn other) {
        if (other.values.size() != values.size()) {
            throw ProblemException.field(ProblemType.INVALID_INPUT, "/inputs", "send as many " + other.name + " as "
                    + name + " (" + values.size() + " and " + other.values.size() + ")");
        }
    }
}
