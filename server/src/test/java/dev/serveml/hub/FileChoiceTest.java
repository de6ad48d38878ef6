package dev.serveml.hub;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class FileChoiceTest {
    private static final RepoId REPO = RepoId.parse("hf://acme/tiny");
    private static final String OID = "0".repeat(40);

    private static List<RepoFile> listing(String... paths) {
        return Arrays.stream(paths).map(p -> new RepoFile(p, 10, Optional.of(OID), Optional.empty())).toList();
    }

    private static List<String> chosen(List<RepoFile> listing, String variant) {
        return FileChoice.choose(REPO, listing, Optional.ofNullable(variant)).files().stream().map(RepoFile::path).toList();
    }

    @Test
    void anOptimumExportAtTheTopIsChosenWithItsTokenizerConfigAndExternalData() {
        List<RepoFile> files = listing("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                "generation_config.json", "vocab.txt", "model.onnx", "model.onnx_data", "model.safetensors", "README.md");

        FileChoice choice = FileChoice.choose(REPO, files, Optional.empty());

        assertThat(choice.files()).extracting(RepoFile::path).containsExactly("config.json", "tokenizer.json",
                "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "model.onnx", "model.onnx_data");
        assertThat(choice.onnx().path()).isEqualTo("model.onnx");
        assertThat(choice.totalBytes()).isEqualTo(70);
    }

    @Test
    void aTransformersJsLayoutIsReadFromItsOnnxFolderByVariant() {
        List<RepoFile> files = listing("config.json", "tokenizer.json", "onnx/model.onnx", "onnx/model_fp16.onnx",
                "onnx/model_fp16.onnx_data", "onnx/model_quantized.onnx", "onnx/model_int8.onnx", "onnx/model_q4.onnx",
                "onnx/model_q4f16.onnx");

        assertThat(chosen(files, null)).containsExactly("config.json", "tokenizer.json", "onnx/model.onnx");
        assertThat(chosen(files, "fp16")).containsExactly("config.json", "tokenizer.json", "onnx/model_fp16.onnx",
                "onnx/model_fp16.onnx_data");
        assertThat(chosen(files, "quantized")).endsWith("onnx/model_quantized.onnx");
        assertThat(chosen(files, "int8")).endsWith("onnx/model_int8.onnx");
        assertThat(chosen(files, "q4")).endsWith("onnx/model_q4.onnx");
        assertThat(chosen(files, "q4f16")).endsWith("onnx/model_q4f16.onnx");
    }

    @Test
    void aRepositoryWithOnlyTorchWeightsIsToldHowToExportIt() {
        ProblemException e = catchThrowableOfType(ProblemException.class,
                () -> FileChoice.choose(REPO, listing("config.json", "pytorch_model.bin", "model.safetensors"), Optional.empty()));

        assertThat(e.type()).isEqualTo(ProblemType.HUB_NO_ONNX);
        assertThat(e.detail()).contains("only PyTorch/safetensors weights", "optimum-cli export onnx --model acme/tiny");
    }

    @Test
    void aMissingVariantNamesTheVariantsTheRepositoryHas() {
        ProblemException e = catchThrowableOfType(ProblemException.class,
                () -> FileChoice.choose(REPO, listing("onnx/model.onnx", "onnx/model_int8.onnx"), Optional.of("fp16")));

        assertThat(e.type()).isEqualTo(ProblemType.HUB_NO_ONNX);
        assertThat(e.detail()).contains("'fp16'", "fp32, int8");
    }

    @Test
    void anUnknownVariantIsAFieldError() {
        ProblemException e = catchThrowableOfType(ProblemException.class,
                () -> FileChoice.choose(REPO, listing("model.onnx"), Optional.of("../x")));

        assertThat(e.type()).isEqualTo(ProblemType.INVALID_REQUEST);
        assertThat(e.errors()).singleElement().satisfies(f -> assertThat(f.pointer()).isEqualTo("/variant"));
    }

    @Test
    void repositoryIdsFollowTheHubsRulesAndNameTheirCacheFolder() {
        assertThat(RepoId.parse("distilbert/distilbert-base-uncased-finetuned-sst-2-english").cacheFolder())
                .isEqualTo("models--distilbert--distilbert-base-uncased-finetuned-sst-2-english");
        assertThat(RepoId.parse("bert-base-uncased").id()).isEqualTo("bert-base-uncased");
        assertThat(RepoId.parse("hf://Xenova/all-MiniLM-L6-v2").id()).isEqualTo("Xenova/all-MiniLM-L6-v2");
        for (String bad : List.of("a/b/c", "a/..", "a/.b", "a/b.", "a/-b", "a/b--c", "a/" + "b".repeat(97), "a/b%2F", "a b/c")) {
            assertThat(catchThrowableOfType(ProblemException.class, () -> RepoId.parse(bad))).as(bad).isNotNull();
        }
    }

    @Test
    void revisionsAreBranchesTagsPullRequestsOrCommits() {
        assertThat(new Revision("refs/pr/3").encoded()).isEqualTo("refs%2Fpr%2F3");
        assertThat(new Revision("v1.0").isCommit()).isFalse();
        assertThat(new Revision("0123456789abcdef0123456789abcdef01234567").isCommit()).isTrue();
        for (String bad : List.of("..", "a/../b", "/main", "main/", "a?b", "a#b", "a b", "x.lock", "-x")) {
            assertThat(catchThrowableOfType(ProblemException.class, () -> new Revision(bad))).as(bad).isNotNull();
        }
    }

    @Test
    void listedPathsArePlainRelativeSegments() {
        assertThat(new RepoFile("onnx/model.onnx", 1, Optional.of(OID), Optional.empty()).folder()).isEqualTo("onnx/");
        for (String bad : List.of("../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/.", "C:\\x", "a\\b", "a/\u0000",
                "", "a/")) {
            assertThatIllegalArgumentException().as(bad).isThrownBy(
                    () -> new RepoFile(bad, 1, Optional.of(OID), Optional.empty()));
        }
        assertThatIllegalArgumentException().isThrownBy(() -> new RepoFile("a", 1, Optional.of("../x"), Optional.empty()));
        assertThatIllegalArgumentException().isThrownBy(() -> new RepoFile("a", 1, Optional.empty(), Optional.empty()));
    }

    @Test
    void aRequestNeverPrintsItsToken() {
        assertThat(new HubRequest(REPO, "main", Optional.empty(), 1, Optional.of("hf_s3cret"), false).toString())
                .doesNotContain("hf_s3cret").contains("***");
    }
}
