package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.intervention.ArmSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * Continuous batching on the shipped model: a request that joins a running batch between steps decodes as it
 * would alone (tokens exactly, logprobs within 1e-4), whichever side needs more keys; admission bounds, row bounds
 * and cancellation act on one request only.
 */
class DecodeLoopTest {

    private static final String SHORT = "is there a star ?";
    private static final String CAPTION = "describe the image .";
    private static final String LONG = "i am sure there is a star here . is there a star in the image ?";
    private static final int TOKENS = 12;

    /** On scene-b, whose caption (12 tokens) runs long enough for another request to join while it decodes. */
    private static GenerationRequest request(String prompt, ArmSpec... arms) {
        return new GenerationRequest(TestModel.image("samples/scene-b.png"), prompt, DecodingOptions.greedy(TOKENS),
                List.of(arms));
    }

    private static GenerationRequest onImage(String sample, String prompt, ArmSpec... arms) {
        return new GenerationRequest(TestModel.image("samples/" + sample + ".png"), prompt,
                DecodingOptions.greedy(TOKENS), List.of(arms));
    }

    private static List<ArmResult> alone(GenerationRequest r) {
        return TestModel.generator().generate(r, Cancellation.create());
    }

    private static List<ArmResult> get(CompletableFuture<List<ArmResult>> f) throws Exception {
        return f.get(60, TimeUnit.SECONDS);
    }

    /**
     * Submits {@code second} from the first request's listener once it has chosen {@code after} tokens (the loop
     * admits it at the next step boundary), and at the next token holds the loop thread until the second's prefill,
     * on a prefill thread, has chosen its first token: the second then joins at the next step boundary, while the
     * first still decodes.
     */
    private static List<List<ArmResult>> joinMidDecode(DecodeLoop loop, GenerationRequest first,
                                                       GenerationRequest second, int after) throws Exception {
        AtomicReference<CompletableFuture<List<ArmResult>>> joined = new AtomicReference<>();
        CountDownLatch prefilled = new CountDownLatch(1);
        int[] seen = {0};
        int[] seenWhenSecondDone = {-1};
        CompletableFuture<List<ArmResult>> running = loop.reserve().submit(first, Cancellation.create(),
                (arm, token, logprob, nanos) -> {
                    if (arm != 0) {
                        return;
                    }
                    seen[0]++;
                    if (seenWhenSecondDone[0] < 0 && joined.get() != null && joined.get().isDone()) {
                        seenWhenSecondDone[0] = seen[0];
                    }
                    if (seen[0] == after) {
                        joined.set(loop.reserve().submit(second, Cancellation.create(),
                                (a, t, l, n) -> prefilled.countDown()));
                    } else if (seen[0] == after + 1) {
                        await(prefilled);
                    }
                });
        List<ArmResult> a = get(running);
        assertThat(seenWhenSecondDone[0]).as("the second request finished while the first still decoded")
                .isBetween(after + 2, a.get(0).tokens().length);
        return List.of(a, get(joined.get()));
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(60, TimeUnit.SECONDS)).as("the newcomer was prefilled off the loop thread").isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static void assertSame(ArmResult actual, ArmResult alone) {
        assertThat(actual.tokens()).containsExactly(alone.tokens());
        assertThat(actual.logprobs()).containsExactly(alone.logprobs(), Offset.offset(1e-4f));
        assertThat(actual.text()).isEqualTo(alone.text());
    }

    private static int promptKeys(String prompt) {
        return TestModel.tokenizer().prompt(prompt).positions(TestModel.bundle().dims().imageTokens());
    }

    @Test
    void requestWithFewerKeysJoiningMidDecodeDecodesAsIfAlone() throws Exception {
        GenerationRequest caption = request(CAPTION, ArmSpec.none());
        GenerationRequest question = request(SHORT, ArmSpec.none());
        assertThat(promptKeys(SHORT)).as("the newcomer is left-padded to the running rows' keys")
                .isLessThan(promptKeys(CAPTION) + 4);
        try (DecodeLoop loop = new DecodeLoop(TestModel.generator(), 16, 4, 1)) {
            List<List<ArmResult>> both = joinMidDecode(loop, caption, question, 4);
            assertSame(both.get(0).get(0), alone(caption).get(0));
            assertSame(both.get(1).get(0), alone(question).get(0));
        }
    }

    @Test
    void requestWithMoreKeysJoiningMidDecodeRepadsTheRunningRows() throws Exception {
        GenerationRequest caption = request(CAPTION, ArmSpec.none());
        GenerationRequest question = request(LONG, ArmSpec.none());
        assertThat(promptKeys(LONG)).as("the running rows are left-padded to the newcomer's keys")
                .isGreaterThan(promptKeys(CAPTION) + 2);
        try (DecodeLoop loop = new DecodeLoop(TestModel.generator(), 16, 4, 1)) {
            List<List<ArmResult>> both = joinMidDecode(loop, caption, question, 2);
            assertSame(both.get(0).get(0), alone(caption).get(0));
            assertSame(both.get(1).get(0), alone(question).get(0));
        }
    }

    @Test
    void interventionArmsWithBranchesKeepTheirOwnStepsWhenTheyJoinLater() throws Exception {
        // m3id's weight decays with the arm's own step index and it decodes a text-only branch row beside its base
        GenerationRequest plain = request(CAPTION, ArmSpec.none());
        GenerationRequest contrast = request(SHORT, ArmSpec.none(), new ArmSpec("m3id", Map.of()));
        try (DecodeLoop loop = new DecodeLoop(TestModel.generator(), 16, 4, 1)) {
            List<List<ArmResult>> both = joinMidDecode(loop, plain, contrast, 4);
            assertSame(both.get(0).get(0), alone(plain).get(0));
            List<ArmResult> contrastAlone = alone(contrast);
            assertSame(both.get(1).get(0), contrastAlone.get(0));
            assertSame(both.get(1).get(1), contrastAlone.get(1));
        }
    }

    @Test
    void aRequestThatDoesNotFitTheRowBoundWaitsForRowsToLeave() throws Exception {
        GenerationRequest first = request(CAPTION, ArmSpec.none(), ArmSpec.none());
        GenerationRequest second = request(LONG, ArmSpec.none());
        try (DecodeLoop loop = new DecodeLoop(TestModel.generator(), 2, 4, 1)) {
            CountDownLatch secondStarted = new CountDownLatch(1);
            boolean[] firstDoneBeforeSecond = {false};
            CompletableFuture<List<ArmResult>> a = loop.reserve().submit(first, Cancellation.create(), TokenListener.NONE);
            CompletableFuture<List<ArmResult>> b = loop.reserve().submit(second, Cancellation.create(),
                    (arm, token, logprob, nanos) -> {
                        firstDoneBeforeSecond[0] |= secondStarted.getCount() == 1 && a.isDone();
                        secondStarted.countDown();
                    });
            assertSame(get(a).get(1), alone(first).get(1));
            assertSame(get(b).get(0), alone(second).get(0));
            assertThat(firstDoneBeforeSecond[0]).as("two rows of the first request filled the batch").isTrue();
        }
    }

    @Test
    void queueBeyondCapacityIsRefusedAndAPlaceIsFreedOnClose() {
        try (DecodeLoop loop = new DecodeLoop(TestModel.generator(), 4, 2, 1)) {
            DecodeLoop.Ticket one = loop.reserve();
            DecodeLoop.Ticket two = loop.reserve();
            assertThatThrownBy(loop::reserve).isInstanceOf(OverloadedException.class)
                    .hasMessageContaining("all 2 places");
            two.close();
            two.close();   // idempotent: a second close must not free a second place
            DecodeLoop.Ticket three = loop.reserve();
            assertThatThrownBy(loop::reserve).isInstanceOf(OverloadedException.class);
            one.close();
            three.close();
        }
    }

    @Test
    void cancellingOneRequestDropsItsRowsAndTheOtherFinishesAsIfAlone() throws Exception {
        GenerationRequest kept = request(LONG, ArmSpec.none());
        GenerationRequest cancelled = new GenerationRequest(TestModel.image("samples/scene-a.png"), CAPTION,
                new DecodingOptions(50, 1.0, 0, 1.0, 3L, List.of()), List.of(ArmSpec.none()));
        try (DecodeLoop loop = new DecodeLoop(TestModel.generator(), 16, 4, 1)) {
            Cancellation cancel = Cancellation.create();
            int[] seen = {0};
            CompletableFuture<List<ArmResult>> gone = loop.reserve().submit(cancelled, cancel,
                    (arm, token, logprob, nanos) -> {
                        if (++seen[0] == 1) {
                            cancel.cancel();
                        }
                    });
            CompletableFuture<List<ArmResult>> stays = loop.reserve().submit(kept, Cancellation.create(),
                    TokenListener.NONE);
            assertThatThrownBy(() -> get(gone)).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(CancelledException.class);
            assertThat(seen[0]).as("no step after the cancel").isEqualTo(1);
            assertSame(get(stays).get(0), alone(kept).get(0));
        }
    }

    @Test
    void closingRefusesNewPlacesAndFailsWhatIsSubmittedAfter() {
        DecodeLoop loop = new DecodeLoop(TestModel.generator(), 16, 4, 1);
        DecodeLoop.Ticket held = loop.reserve();
        loop.close();
        assertThatThrownBy(loop::reserve).isInstanceOf(OverloadedException.class).hasMessageContaining("shutting down");
        CompletableFuture<List<ArmResult>> late = held.submit(request(SHORT, ArmSpec.none()), Cancellation.create(),
                TokenListener.NONE);
        assertThatThrownBy(() -> get(late)).hasCauseInstanceOf(CancelledException.class);
    }

    @Test
    void aRequestWhoseArmsAllEndInThePrefillCompletesWithNothingElseRunning() throws Exception {
        GenerationRequest one = new GenerationRequest(TestModel.image("samples/scene-b.png"), CAPTION,
                DecodingOptions.greedy(1), List.of(ArmSpec.none()));
        try (DecodeLoop loop = new DecodeLoop(TestModel.generator(), 16, 4, 1)) {
            List<ArmResult> r = get(loop.reserve().submit(one, Cancellation.create(), TokenListener.NONE));
            assertThat(r.get(0).tokens()).hasSize(1);
            assertSame(r.get(0), alone(one).get(0));
        }
    }

    @Test
    void closingWhileRequestsArePrefilledLeavesNoneUnfinished() {
        DecodeLoop loop = new DecodeLoop(TestModel.generator(), 16, 8, 2);
        List<CompletableFuture<List<ArmResult>>> submitted = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            submitted.add(loop.reserve().submit(request(i % 2 == 0 ? CAPTION : LONG, ArmSpec.none()),
                    Cancellation.create(), TokenListener.NONE));
        }
        loop.close();
        assertThat(submitted).as("each request completed or failed by the time close returned")
                .allMatch(CompletableFuture::isDone);
        for (CompletableFuture<List<ArmResult>> f : submitted) {
            if (f.isCompletedExceptionally()) {
                assertThatThrownBy(() -> get(f)).hasCauseInstanceOf(CancelledException.class);
            }
        }
    }

    @Test
    void rowsRetiredInThePrefillAreNotCountedAgainstTheRowBoundLater() throws Exception {
        // a one-token request's row ends in its prefill; the rows it took while prefilling must all be given back,
        // or the bound of 2 would leave no room for a two-row request after it
        GenerationRequest one = new GenerationRequest(TestModel.image("samples/scene-b.png"), CAPTION,
                DecodingOptions.greedy(1), List.of(ArmSpec.none()));
        GenerationRequest two = request(SHORT, ArmSpec.none(), ArmSpec.none());
        try (DecodeLoop loop = new DecodeLoop(TestModel.generator(), 2, 4, 1)) {
            for (int i = 0; i < 3; i++) {
                get(loop.reserve().submit(one, Cancellation.create(), TokenListener.NONE));
            }
            assertSame(get(loop.reserve().submit(two, Cancellation.create(), TokenListener.NONE)).get(1),
                    alone(two).get(1));
        }
    }

    @Test
    void newcomersWaitingForThePrefillThreadPrefillTogetherAndDecodeAsIfAlone() throws Exception {
        // three requests on different images with prompts of different lengths, one with m3id's text-only branch,
        // queue while the prefill thread is held inside the first request's prefill; they then prefill in one group
        // of calls, each request with its own vision row
        List<GenerationRequest> newcomers = List.of(onImage("scene-a", LONG, ArmSpec.none()),
                onImage("scene-c", SHORT, ArmSpec.none(), new ArmSpec("m3id", Map.of())),
                onImage("scene-b", CAPTION, ArmSpec.none()));
        try (DecodeLoop loop = new DecodeLoop(TestModel.generator(), 16, 8, 1)) {
            List<CompletableFuture<List<ArmResult>>> later = new ArrayList<>();
            CompletableFuture<List<ArmResult>> first = loop.reserve().submit(request(CAPTION, ArmSpec.none()),
                    Cancellation.create(), (arm, token, logprob, nanos) -> {
                        if (later.isEmpty()) {
                            newcomers.forEach(r -> later.add(loop.reserve().submit(r, Cancellation.create(),
                                    TokenListener.NONE)));
                            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                            while (loop.waitingForPrefill() < newcomers.size() && System.nanoTime() < until) {
                                Thread.onSpinWait();
                            }
                        }
                    });
            get(first);
            for (int i = 0; i < newcomers.size(); i++) {
                List<ArmResult> joint = get(later.get(i));
                List<ArmResult> alone = alone(newcomers.get(i));
                for (int a = 0; a < alone.size(); a++) {
                    assertSame(joint.get(a), alone.get(a));
                }
            }
            assertThat(loop.prefills()).as("one prefill for the first request, one for the three that waited")
                    .isEqualTo(2);
        }
    }
}
