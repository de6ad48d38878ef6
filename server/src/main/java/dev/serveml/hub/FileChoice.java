package dev.serveml.hub;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Which files of a repository a text model needs: its {@code config.json}, its tokenizer files,
 * {@code generation_config.json} where there is one, and one ONNX graph with its external data.
 * The graph follows the layouts Optimum ({@code model.onnx}, {@code model_quantized.onnx} at the top)
 * and transformers.js ({@code onnx/model.onnx}, {@code onnx/model_fp16.onnx}, {@code _int8}, {@code _q4},
 * ...) write, picked by the variant; nothing else is fetched.
 *
 * @param files       the chosen files, the graph's external data after the graph
 * @param onnx        the chosen graph
 * @param totalBytes  their sizes added up
 */
public record FileChoice(List<RepoFile> files, RepoFile onnx, long totalBytes) {
    /** Each variant and the suffix its graph has after {@code model}. */
    public static final Map<String, String> VARIANTS = variants();

    static final List<String> SUPPORT_FILES = List.of("config.json", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "generation_config.json");
    private static final List<String> FOLDERS = List.of("onnx/", "");
    private static final List<String> TORCH_WEIGHTS = List.of(".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack");

    public FileChoice {
        files = List.copyOf(files);
    }

    private static Map<String, String> variants() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("fp32", "");
        v.put("fp16", "_fp16");
        v.put("quantized", "_quantized");
        v.put("int8", "_int8");
        v.put("uint8", "_uint8");
        v.put("q4", "_q4");
        v.put("q4f16", "_q4f16");
        v.put("bnb4", "_bnb4");
        return Map.copyOf(v);
    }

    /**
     * Chooses from the listing.
     *
     * @param variant  {@code fp32} when empty
     * @throws ProblemException {@code invalid-request} on {@code /variant} for an unknown variant,
     *                          {@code hub-no-onnx} when the repository has no graph of that variant
     */
    public static FileChoice choose(RepoId repo, List<RepoFile> listing, Optional<String> variant) {
        String name = variant.filter(v -> !v.isBlank()).orElse("fp32");
        String suffix = VARIANTS.get(name);
        if (suffix == null) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/variant", "unknown variant '" + abbreviate(name)
                    + "'; one of " + VARIANTS.keySet().stream().sorted().collect(Collectors.joining(", ")));
        }
        Map<String, RepoFile> byPath = new LinkedHashMap<>();
        listing.forEach(f -> byPath.put(f.path(), f));
        RepoFile onnx = FOLDERS.stream().map(folder -> byPath.get(folder + "model" + suffix + ".onnx"))
                .filter(f -> f != null).findFirst()
                .orElseThrow(() -> noOnnx(repo, name, listing));
        List<RepoFile> chosen = new ArrayList<>();
        SUPPORT_FILES.stream().map(byPath::get).filter(f -> f != null).forEach(chosen::add);
        chosen.add(onnx);
        String dataPrefix = onnx.path() + "_data";
        listing.stream().filter(f -> f.path().startsWith(dataPrefix) || f.path().equals(onnx.path() + ".data"))
                .forEach(chosen::add);
        return new FileChoice(chosen, onnx, chosen.stream().mapToLong(RepoFile::size).sum());
    }

    /** The variants whose graph the listing holds, in {@link #VARIANTS}' names, sorted. */
    public static List<String> available(List<RepoFile> listing) {
        java.util.Set<String> paths = listing.stream().map(RepoFile::path).collect(Collectors.toSet());
        return VARIANTS.entrySet().stream()
                .filter(e -> FOLDERS.stream().anyMatch(f -> paths.contains(f + "model" + e.getValue() + ".onnx")))
                .map(Map.Entry::getKey).sorted().toList();
    }

    private static ProblemException noOnnx(RepoId repo, String variant, List<RepoFile> listing) {
        List<String> graphs = listing.stream().map(RepoFile::path).filter(p -> p.endsWith(".onnx")).sorted().toList();
        if (!graphs.isEmpty()) {
            List<String> offered = VARIANTS.entrySet().stream()
                    .filter(e -> FOLDERS.stream().anyMatch(f -> graphs.contains(f + "model" + e.getValue() + ".onnx")))
                    .map(Map.Entry::getKey).sorted().toList();
            return new ProblemException(ProblemType.HUB_NO_ONNX, repo + " has no '" + variant + "' ONNX graph"
                    + (offered.isEmpty() ? "; its ONNX files (" + String.join(", ", graphs.subList(0, Math.min(5, graphs.size())))
                            + ") are not a layout ServeML reads (model.onnx or onnx/model.onnx)"
                            : "; the variants it has: " + String.join(", ", offered)));
        }
        boolean torch = listing.stream().anyMatch(f -> TORCH_WEIGHTS.stream().anyMatch(ext -> f.path().endsWith(ext)));
        return new ProblemException(ProblemType.HUB_NO_ONNX, repo + (torch
                ? " has only PyTorch/safetensors weights and no ONNX export"
                : " has no ONNX model") + "; export one with `optimum-cli export onnx --model " + repo
                + " <dir>` and push it to a repository of your own (or pick one that has an onnx/ folder)");
    }

    private static String abbreviate(String text) {
        return text.length() > 40 ? text.substring(0, 40) + "..." : text;
    }
}
