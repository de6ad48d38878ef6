package dev.serveml.runtime.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.serveml.config.RuntimeConfig;
import dev.serveml.runtime.LoadRequest;
import dev.serveml.runtime.LoadedModel;
import dev.serveml.runtime.Parameters;
import dev.serveml.runtime.Resources;
import dev.serveml.runtime.TokenSink;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Continuous batching on the gpt2-tiny fixture: generations submitted together share model calls
 * (joining and leaving between them, caches of different lengths left-padded) and each gives the
 * ids it gives alone, which make_hf_fixtures.py's torch loop gave; a row whose client leaves ends
 * without disturbing the others; rows beyond the loop's capacity wait their turn.
 */
class DecodeLoopTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private TextModelRuntime runtime;
    private TextLoadedModel model;

    @AfterEach
    void close() {
        if (model != null) {
            model.close();
        }
        if (runtime != null) {
            runtime.close();
        }
    }

    private TextGenerator load(String fixture, int sequences) {
        return load(RepoZip.of(fixture), fixture, sequences);
    }

    private TextGenerator load(RepoZip zip, String fixture, int sequences) {
        runtime = new TextModelRuntime(new RuntimeConfig(1, 1, 1000, sequences), dir.resolve("run"), 64 << 20);
        model = (TextLoadedModel) runtime.load(new LoadRequest(zip.write(dir.resolve(fixture + ".zip")),
                TextModelRuntime.FORMAT, fixture + ".zip", fixture, fixture + " v1", Optional.empty(), Resources.DEFAULT));
        return (TextGenerator) model.task();
    }

    private static List<Tensor> text(String t) {
        return List.of(Tensor.ofBytes("text", new long[]{1}, List.of(t.getBytes(StandardCharsets.UTF_8))));
    }

    private static String generated(Map<String, Output> out) {
        return new String(((Tensor) out.get("generated_text")).bytes().get(0), StandardCharsets.UTF_8);
    }

    private static JsonNode greedy() throws IOException {
        return JSON.readTree(HfFixtures.class.getResource("/fixtures/hf/expected.json")).path("generation").path("greedy");
    }

    @Test
    void generationsSubmittedTogetherShareCallsAndEachGivesTorchsIds() throws Exception {
        TextGenerator generator = load("gpt2-tiny", 16);
        LoadedModel.Scheduled scheduled = model.scheduled().orElseThrow();
        assertThat(model.concurrency()).isEqualTo(16);
        JsonNode cases = greedy();
        // every case twice, with different lengths so that sequences leave at different steps
        List<CompletableFuture<Map<String, Output>>> calls = new ArrayList<>();
        List<List<Long>> streamed = new ArrayList<>();
        List<long[]> expected = new ArrayList<>();
        List<List<Boolean>> lasts = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            for (JsonNode c : cases) {
                int tokens = round == 0 ? c.path("max_new_tokens").asInt() : 5 + calls.size();
                long[] ids = new long[Math.min(tokens, c.path("generated_ids").size())];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = c.path("generated_ids").get(i).asLong();
                }
                expected.add(ids);
                List<Long> mine = java.util.Collections.synchronizedList(new ArrayList<>());
                streamed.add(mine);
                List<Boolean> flags = java.util.Collections.synchronizedList(new ArrayList<>());
                lasts.add(flags);
                calls.add(scheduled.submit(text(c.path("prompt").asText()), java.util.Set.of(),
                        new Parameters(Map.of("max_new_tokens", (long) tokens)), (row, token) -> {
                            flags.add(token.last());
                            return mine.add(token.id());
                        }));
            }
        }
        for (int i = 0; i < calls.size(); i++) {
            calls.get(i).get(60, TimeUnit.SECONDS);
            assertThat(streamed.get(i)).as("call " + i).containsExactly(java.util.Arrays.stream(expected.get(i))
                    .boxed().toArray(Long[]::new));
            // the generator says which token is the last as it tells it (a stream need not wait for the next)
            List<Boolean> flags = lasts.get(i);
            assertThat(flags.subList(0, flags.size() - 1)).as("call " + i).doesNotContain(true);
            assertThat(flags.getLast()).as("call " + i).isTrue();
        }
        DecodeLoop.Counts counts = generator.loopCounts();
        assertThat(counts.widest()).as("sequences stepped in one call").isGreaterThan(1);
        assertThat(counts.rows()).isGreaterThan(counts.steps());
    }

    @Test
    void aRowWhoseClientLeavesEndsAndTheOthersGoOnUndisturbed() throws Exception {
        load("gpt2-tiny", 16);
        LoadedModel.Scheduled scheduled = model.scheduled().orElseThrow();
        JsonNode c = greedy().get(1);
        String alone = generated(scheduled.submit(text(c.path("prompt").asText()), java.util.Set.of(),
                new Parameters(Map.of("max_new_tokens", 12L)), TokenSink.NONE).get(60, TimeUnit.SECONDS));
        AtomicInteger told = new AtomicInteger();
        CompletableFuture<Map<String, Output>> leaving = scheduled.submit(text("the cat sat on"), java.util.Set.of(),
                new Parameters(Map.of("max_new_tokens", 40L)), (row, token) -> told.incrementAndGet() < 3);
        CompletableFuture<Map<String, Output>> staying = scheduled.submit(text(c.path("prompt").asText()),
                java.util.Set.of(), new Parameters(Map.of("max_new_tokens", 12L)), TokenSink.NONE);
        Map<String, Output> left = leaving.get(60, TimeUnit.SECONDS);
        assertThat(new String(((Tensor) left.get("finish_reason")).bytes().get(0), StandardCharsets.UTF_8))
                .isEqualTo("cancelled");
        assertThat(told.get()).isEqualTo(3);
        assertThat(generated(staying.get(60, TimeUnit.SECONDS))).isEqualTo(alone);
    }

    @Test
    void rowsBeyondTheCapacityWaitTheirTurnAndAllFinish() throws Exception {
        TextGenerator generator = load("gpt2-tiny", 2);
        LoadedModel.Scheduled scheduled = model.scheduled().orElseThrow();
        JsonNode c = greedy().get(0);
        String alone = generated(scheduled.submit(text(c.path("prompt").asText()), java.util.Set.of(),
                new Parameters(Map.of("max_new_tokens", 12L)), TokenSink.NONE).get(60, TimeUnit.SECONDS));
        CountDownLatch first = new CountDownLatch(1);
        List<CompletableFuture<Map<String, Output>>> calls = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            calls.add(scheduled.submit(text(c.path("prompt").asText()), java.util.Set.of(),
                    new Parameters(Map.of("max_new_tokens", 12L)), (row, token) -> {
                        first.countDown();
                        return true;
                    }));
        }
        for (CompletableFuture<Map<String, Output>> call : calls) {
            assertThat(generated(call.get(60, TimeUnit.SECONDS))).isEqualTo(alone);
        }
        assertThat(generator.loopCounts().widest()).isEqualTo(2);
    }

    @Test
    void theMergedExportIsBatchedTooAndGivesTheSameIds() throws Exception {
        load("gpt2-tiny-merged", 8);
        LoadedModel.Scheduled scheduled = model.scheduled().orElseThrow();
        List<CompletableFuture<Map<String, Output>>> calls = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (JsonNode c : greedy()) {
            expected.add(c.path("prompt").asText() + c.path("generated_text").asText());
            calls.add(scheduled.submit(text(c.path("prompt").asText()), java.util.Set.of(),
                    new Parameters(Map.of("max_new_tokens", c.path("max_new_tokens").asLong())), TokenSink.NONE));
        }
        for (int i = 0; i < calls.size(); i++) {
            assertThat(generated(calls.get(i).get(60, TimeUnit.SECONDS))).isEqualTo(expected.get(i));
        }
    }

    @Test
    void aConversationIsOnlyReadWhenACallIsCheckedItsTemplateRendersOnTheLoop() throws Exception {
        // check() may run on an event loop: a tenant's template must not run there. This one always
        // raises, so a render in check() would throw; the call itself is refused as a 422.
        String config = "{\"model_max_length\": 64, \"eos_token\": \"<|endoftext|>\", \"chat_template\": "
                + "\"{{ raise_exception('no conversations here') }}\"}";
        load(RepoZip.of("gpt2-tiny").with("gpt2-tiny/tokenizer_config.json", config.getBytes(StandardCharsets.UTF_8)),
                "gpt2-tiny", 4);
        List<Tensor> conversation = text("[{\"role\": \"user\", \"content\": \"hello\"}]");
        Parameters chat = new Parameters(Map.of("chat", true, "max_new_tokens", 4L));
        model.check(conversation, chat);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> model.check(text("not a conversation"), chat))
                .isInstanceOf(dev.serveml.problem.ProblemException.class);
        CompletableFuture<Map<String, Output>> call = model.scheduled().orElseThrow().submit(conversation,
                java.util.Set.of(), chat, TokenSink.NONE);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> call.get(60, TimeUnit.SECONDS))
                .hasCauseInstanceOf(dev.serveml.problem.ProblemException.class)
                .cause().hasMessageContaining("no conversations here");
        // and the loop goes on serving
        assertThat(generated(model.scheduled().orElseThrow().submit(text("Hello world"), java.util.Set.of(),
                new Parameters(Map.of("max_new_tokens", 3L)), TokenSink.NONE).get(60, TimeUnit.SECONDS)))
                .startsWith("Hello world");
    }

    @Test
    void sequencesJoiningMidFlightBesideEndedRowsEachGiveTheirOwnIds() throws Exception {
        TextGenerator generator = load("gpt2-tiny", 4);
        LoadedModel.Scheduled scheduled = model.scheduled().orElseThrow();
        JsonNode cases = greedy();
        java.util.SplittableRandom random = new java.util.SplittableRandom(42);
        List<CompletableFuture<Map<String, Output>>> calls = java.util.Collections.synchronizedList(new ArrayList<>());
        List<long[]> expected = java.util.Collections.synchronizedList(new ArrayList<>());
        List<List<Long>> streamed = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger toSubmit = new AtomicInteger(30);
        // each call's third token submits another: joins land mid-flight, among rows that ended
        class Submitter {
            void next() {
                if (toSubmit.decrementAndGet() < 0) {
                    return;
                }
                JsonNode c = cases.get(random.nextInt(cases.size()));
                int tokens = 1 + random.nextInt(12);
                long[] ids = new long[Math.min(tokens, c.path("generated_ids").size())];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = c.path("generated_ids").get(i).asLong();
                }
                List<Long> mine = java.util.Collections.synchronizedList(new ArrayList<>());
                AtomicInteger told = new AtomicInteger();
                expected.add(ids);
                streamed.add(mine);
                calls.add(scheduled.submit(text(c.path("prompt").asText()), java.util.Set.of(),
                        new Parameters(Map.of("max_new_tokens", (long) tokens)), (row, token) -> {
                            mine.add(token.id());
                            if (told.incrementAndGet() == 3) {
                                next();
                            }
                            return true;
                        }).whenComplete((done, failure) -> {
                            if (told.get() < 3) {
                                next(); // ended before its third token: it hands on all the same
                            }
                        }));
            }
        }
        Submitter submitter = new Submitter();
        for (int i = 0; i < 4; i++) {
            submitter.next();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int i = 0; i < 30; i++) {
            while (calls.size() <= i) {
                assertThat(System.nanoTime()).as("call %d submitted", i).isLessThan(deadline);
                Thread.onSpinWait();
            }
            calls.get(i).get(60, TimeUnit.SECONDS);
            assertThat(streamed.get(i)).as("call " + i).containsExactly(java.util.Arrays.stream(expected.get(i))
                    .boxed().toArray(Long[]::new));
        }
        assertThat(generator.loopCounts().widest()).isGreaterThan(1);
    }
}
