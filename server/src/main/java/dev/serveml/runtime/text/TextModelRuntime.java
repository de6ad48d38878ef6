package dev.serveml.runtime.text;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.serveml.artifacts.Archives;
import dev.serveml.config.RuntimeConfig;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.ModelRuntime;
import dev.serveml.runtime.onnx.ExternalData;
import dev.serveml.runtime.onnx.OnnxModelRuntime;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Hugging Face Hub repositories uploaded as one archive ({@code .zip}, {@code .tar.gz}):
 * {@code config.json}, {@code tokenizer.json} and an ONNX export in the Optimum or
 * transformers.js layout ({@code onnx/model.onnx} or {@code model.onnx}), at the archive's root or
 * in one folder (a repository directory zipped as it is), with an optional {@code serveml.json}
 * naming the task. Served in process by the {@link TextTask} that {@link TaskChoice} picks.
 *
 * <p>The archive is the tenant's, so it is handled as the ONNX runtime handles its archives: the
 * same extraction limits, a private directory (0700) per load holding only this model's files,
 * removed when the model closes or the load fails, and {@link ExternalData}'s check before ONNX
 * Runtime opens the export, so external data can name nothing outside the repository. The JSON
 * files are bounded before they are parsed ({@link #MAX_JSON_BYTES}, {@link #MAX_TOKENIZER_BYTES})
 * and tokenizer.json must look like a tokenizer before the Rust library reads it.
 *
 * <p>Asked before the ONNX runtime, which would otherwise claim an archive with one .onnx file.
 */
public final class TextModelRuntime implements ModelRuntime {
    /** What versions record as their format. */
    public static final String FORMAT = "huggingface";
    /** The tasks a repository can be served as, in Hugging Face's names (what an import may ask for). */
    public static final List<String> TASKS = TaskChoice.TASKS;
    /** config.json and the other small JSON files of a repository: real ones are a few kB. */
    static final long MAX_JSON_BYTES = 1 << 20;
    /** tokenizer.json: BERT's is 0.7 MB, XLM-R's 17 MB; a multilingual vocabulary stays well below this. */
    static final long MAX_TOKENIZER_BYTES = 64L << 20;
    private static final List<String> SMALL_JSON = List.of("config.json", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json");
    private static final int MAX_LISTED_ENTRIES = 10_000;
    /** Optimum's decoder export with and without past in one graph (beside decoder_model.onnx and decoder_with_past_model.onnx). */
    private static final String MERGED = "decoder_model_merged.onnx";
    private static final JsonFactory JSON = new JsonFactory();

    private final RuntimeConfig config;
    private final Path runDir;
    private final long maxExtractBytes;
    private final OrtEnvironment environment;

    /**
     * @param runDir          where the private per-load directories go; emptied now (leftovers of a crash)
     * @param maxExtractBytes the most an uploaded archive may expand to
     */
    public TextModelRuntime(RuntimeConfig config, Path runDir, long maxExtractBytes) {
        this.config = config;
        this.runDir = OnnxModelRuntime.emptyRunDirectory(runDir);
        this.maxExtractBytes = maxExtractBytes;
        this.environment = OrtEnvironment.getEnvironment();
    }

    @Override
    public String name() {
        return "text";
    }

    @Override
    public List<String> formats() {
        return List.of(FORMAT);
    }

    @Override
    public String detectFormat(String fileName, byte[] head) {
        return null; // a repository is always an archive, and only its entries tell
    }

    /**
     * An archive whose entries hold, at the root or in one folder, {@code config.json},
     * {@code tokenizer.json} and an ONNX file ({@code model.onnx} or {@code onnx/*.onnx}), and no
     * Python model. Reads entry names only, as the ONNX runtime does; {@link #load} checks what
     * extraction produced.
     */
    @Override
    public String detectFormat(String fileName, byte[] head, Path file) {
        String kind = Archives.kind(fileName);
        if (kind == null) {
            return null;
        }
        List<String> names;
        try {
            names = Archives.entryNames(file, kind, MAX_LISTED_ENTRIES, maxExtractBytes);
        } catch (ProblemException e) {
            return null; // the runtimes after this one say why
        }
        Set<String> entries = Set.copyOf(names);
        if (names.stream().anyMatch(OnnxModelRuntime::isPythonModelEntry)) {
            return null;
        }
        for (String name : names) {
            if (!name.equals("config.json") && !name.endsWith("/config.json")) {
                continue;
            }
            String dir = name.substring(0, name.length() - "config.json".length());
            if (dir.chars().filter(c -> c == '/').count() > 1 || !entries.contains(dir + "tokenizer.json")) {
                continue;
            }
            boolean onnx = names.stream().anyMatch(n -> n.equals(dir + "model.onnx") || n.equals(dir + MERGED)
                    || (n.startsWith(dir + "onnx/") && n.endsWith(".onnx")
                    && n.indexOf('/', dir.length() + "onnx/".length()) < 0));
            if (onnx) {
                return FORMAT;
            }
        }
        return null;
    }

    @Override
    public LoadedModel load(LoadRequest request) {
        String kind = Archives.kind(request.fileName());
        if (kind == null) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "a Hugging Face repository is uploaded as one "
                    + ".zip or .tar.gz of its files");
        }
        Path loadDir = OnnxModelRuntime.privateDirectory(runDir);
        try {
            Archives.extract(request.artifact(), kind, loadDir, maxExtractBytes);
            Path repo = repository(loadDir);
            checkSizes(repo);
            HfModelConfig hf = HfModelConfig.read(repo);
            TaskChoice choice = TaskChoice.of(hf, ServemlJson.read(repo, loadDir));
            String tokenizerKind = tokenizerKind(repo.resolve("tokenizer.json"));
            Path model = onnxFile(repo);
            ExternalData.check(model);
            TextTask task;
            try (OrtSession.SessionOptions options = OnnxModelRuntime.sessionOptions(config)) {
                task = open(choice, repo, model, options, request.label());
            } catch (OrtException e) {
                throw new ProblemException(ProblemType.INVALID_MODEL, "ONNX Runtime could not set up a session");
            }
            Map<String, Object> metadata = new LinkedHashMap<>();
            metadata.put("task", task.name());
            metadata.put("task_source", choice.task() != null ? choice.source() : "onnx outputs");
            metadata.put("labels", task.labels());
            metadata.put("max_length", hf.maxLength());
            metadata.put("tokenizer", tokenizerKind);
            metadata.put("architecture", String.join(", ", hf.architectures()));
            metadata.put("model_type", hf.modelType());
            metadata.put("onnx_file", repo.relativize(model).toString());
            if (hf.problemType() != null) {
                metadata.put("problem_type", hf.problemType());
            }
            return new TextLoadedModel(task, metadata, OnnxModelRuntime.totalSize(loadDir),
                    request.resources().instances(), () -> OnnxModelRuntime.deleteTree(loadDir));
        } catch (RuntimeException e) {
            OnnxModelRuntime.deleteTree(loadDir);
            throw e;
        }
    }

    /**
     * The task's pipeline over the repository. A repository whose task neither serveml.json nor
     * config.json names is a bare encoder if its export answers last_hidden_state.
     */
    private TextTask open(TaskChoice choice, Path repo, Path model, OrtSession.SessionOptions options, String label) {
        String name = choice.task();
        // question answering cuts long contexts into windows; generation refuses a prompt over the context
        TextEncoder encoder = TextEncoder.open(environment, repo, model, options,
                !"question-answering".equals(name) && !"text-generation".equals(name));
        try {
            if (name == null) {
                if (!encoder.outputNames().contains(FeatureExtractor.LAST_HIDDEN_STATE)) {
                    throw TaskChoice.unsupported(choice.hf());
                }
                name = "feature-extraction";
            }
            return switch (name) {
                case "text-classification" -> new TextClassifier(encoder);
                case "token-classification" -> new TokenClassifier(encoder);
                case "feature-extraction" -> new FeatureExtractor(encoder);
                case "fill-mask" -> new MaskFiller(encoder);
                case "question-answering" -> new QuestionAnswerer(encoder);
                case "zero-shot-classification" -> new ZeroShotClassifier(encoder);
                case "text-ranking" -> new CrossEncoderRanker(encoder);
                case "text-generation" -> new TextGenerator(encoder, repo, config.generationSequences(), label);
                default -> throw new IllegalStateException(name);
            };
        } catch (RuntimeException e) {
            encoder.close();
            throw e;
        }
    }

    /** The one directory holding config.json: the archive's root or its one folder. */
    private static Path repository(Path loadDir) {
        if (Files.isRegularFile(loadDir.resolve("config.json"), LinkOption.NOFOLLOW_LINKS)) {
            return loadDir;
        }
        List<Path> found;
        try (Stream<Path> dirs = Files.list(loadDir)) {
            found = dirs.filter(d -> Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS))
                    .filter(d -> Files.isRegularFile(d.resolve("config.json"), LinkOption.NOFOLLOW_LINKS)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the extracted repository", e);
        }
        if (found.size() != 1) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the archive must hold one Hugging Face repository: "
                    + "config.json, tokenizer.json and onnx/model.onnx at its root or in one folder");
        }
        return found.get(0);
    }

    /** Bounds the JSON files before anything parses them: a huge config.json is refused, never read. */
    private static void checkSizes(Path repo) {
        for (String name : SMALL_JSON) {
            requireAtMost(repo.resolve(name), MAX_JSON_BYTES);
        }
        requireAtMost(repo.resolve("tokenizer.json"), MAX_TOKENIZER_BYTES);
    }

    private static void requireAtMost(Path file, long max) {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw new ProblemException(ProblemType.INVALID_MODEL, file.getFileName() + " is not a regular file");
            }
            long size = Files.size(file);
            if (size > max) {
                throw new ProblemException(ProblemType.INVALID_MODEL, file.getFileName() + " is " + size
                        + " bytes; ServeML reads at most " + max + " bytes of it");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the repository's files", e);
        }
    }

    /**
     * {@code model.type} of tokenizer.json ({@code WordPiece}, {@code BPE}, {@code Unigram}, ...), read
     * with a streaming parser that skips the vocabulary: a file without one is no tokenizer, and is
     * refused before the Rust library reads it.
     */
    static String tokenizerKind(Path file) {
        try (InputStream in = Files.newInputStream(file); JsonParser p = JSON.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw notATokenizer();
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("model") && value == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String inner = p.currentName();
                        JsonToken v = p.nextToken();
                        if (inner.equals("type") && v == JsonToken.VALUE_STRING) {
                            return p.getText();
                        }
                        p.skipChildren();
                    }
                    throw notATokenizer();
                }
                p.skipChildren();
            }
            throw notATokenizer();
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the repository has no tokenizer.json");
        } catch (IOException e) {
            throw notATokenizer();
        }
    }

    private static ProblemException notATokenizer() {
        return new ProblemException(ProblemType.INVALID_MODEL, "tokenizer.json is not a Hugging Face tokenizer (a "
                + "JSON object whose \"model\" names its \"type\", as tokenizers' save() writes it)");
    }

    /**
     * Optimum's and transformers.js's {@code onnx/model.onnx}, else {@code model.onnx}, else a decoder's
     * {@code decoder_model_merged.onnx} (in onnx/ or at the root: the one with past key/values, of the
     * three files Optimum writes), else the one .onnx in {@code onnx/}.
     */
    private static Path onnxFile(Path repo) {
        for (String preferred : List.of("onnx/model.onnx", "model.onnx", "onnx/" + MERGED, MERGED)) {
            Path p = repo.resolve(preferred);
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                return p;
            }
        }
        List<Path> others = new ArrayList<>();
        Path onnxDir = repo.resolve("onnx");
        if (Files.isDirectory(onnxDir, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> files = Files.list(onnxDir)) {
                files.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                        .filter(p -> p.getFileName().toString().endsWith(".onnx"))
                        .sorted(Comparator.naturalOrder()).forEach(others::add);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the repository's files", e);
            }
        }
        if (others.size() != 1) {
            throw new ProblemException(ProblemType.INVALID_MODEL, "the repository has " + (others.isEmpty()
                    ? "no ONNX export: add one with optimum-cli export onnx (onnx/model.onnx)"
                    : others.size() + " ONNX files in onnx/ and no onnx/model.onnx: keep the one to serve"));
        }
        return others.get(0);
    }

    @Override
    public void close() {
        // The ONNX environment is process-wide; each model's session and tokenizer close with it.
    }
}
