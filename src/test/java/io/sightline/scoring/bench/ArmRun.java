package io.sightline.scoring.bench;

import io.sightline.engine.ArmResult;
import io.sightline.engine.Cancellation;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.engine.Generator;
import io.sightline.engine.ImageInput;
import io.sightline.engine.TokenListener;
import io.sightline.intervention.ArmSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One arm of the results table (an intervention with its defaults and a decoding mode) and what it produced: the
 * answer per prompt of each task (null where the engine threw) and its cost, counted over successful batches only.
 */
final class ArmRun {

    /** One prompt of a task; {@code seed} fixes the sampling arm's draws per item. */
    record Prompt(ImageInput image, String text, long seed) {
    }

    final String name;
    private final String intervention;
    private final boolean samples;
    private final Map<String, String[]> answers = new HashMap<>();
    long wallNanos;
    long tokens;
    long decodeNanos;                                        // first to last token of each batch
    long decodeTokens;                                       // tokens after each request's first one
    long latencyNanos;                                       // sum over requests of ArmResult.latencyNanos
    int requests;
    int failures;                                            // requests that threw even when run alone
    int failedBatches;                                       // generateBatch calls that threw
    String firstFailure;

    ArmRun(String name, String intervention, boolean samples) {
        this.name = name;
        this.intervention = intervention;
        this.samples = samples;
    }

    /** The same arm with nothing recorded (for warm-up runs). */
    ArmRun fresh() {
        return new ArmRun(name, intervention, samples);
    }

    String[] answers(String task) {
        return answers.get(task);
    }

    /**
     * Runs prompts {@code from..from+batch.size()} of {@code task} as one generateBatch call, one request per prompt.
     * If the call throws, each request is retried alone (untimed) so that one bad item costs only its own answer.
     */
    void run(Generator gen, String task, int taskSize, int from, List<Prompt> batch, int maxNewTokens) {
        String[] out = answers.computeIfAbsent(task, t -> new String[taskSize]);
        List<GenerationRequest> reqs = batch.stream().map(p -> request(p, maxNewTokens)).toList();
        long[] first = {Long.MAX_VALUE};
        long[] last = {0};
        TokenListener clock = (arm, token, lp, nanos) -> {
            first[0] = Math.min(first[0], nanos);
            last[0] = Math.max(last[0], nanos);
        };
        List<List<ArmResult>> results;
        long t0 = System.nanoTime();
        try {
            results = gen.generateBatch(reqs, Cancellation.create(), clock);
        } catch (RuntimeException e) {
            retryAlone(gen, reqs, out, from, e);
            return;
        }
        wallNanos += System.nanoTime() - t0;
        for (int i = 0; i < results.size(); i++) {
            ArmResult r = results.get(i).get(0);
            out[from + i] = r.text();
            tokens += r.tokens().length;
            decodeTokens += Math.max(0, r.tokens().length - 1);
            latencyNanos += r.latencyNanos();
            requests++;
        }
        if (last[0] > first[0]) {
            decodeNanos += last[0] - first[0];
        }
    }

    private void retryAlone(Generator gen, List<GenerationRequest> reqs, String[] out, int from, RuntimeException batchError) {
        failedBatches++;
        if (firstFailure == null) {
            firstFailure = batchError.getClass().getSimpleName() + ": " + batchError.getMessage();
        }
        for (int i = 0; i < reqs.size(); i++) {
            try {
                out[from + i] = gen.generate(reqs.get(i), Cancellation.create()).get(0).text();
            } catch (RuntimeException e) {
                failures++;
            }
        }
    }

    private GenerationRequest request(Prompt p, int maxNewTokens) {
        DecodingOptions decoding = samples
                ? new DecodingOptions(maxNewTokens, 1.0, 0, 1.0, p.seed(), List.of())
                : DecodingOptions.greedy(maxNewTokens);
        return new GenerationRequest(p.image(), p.text(), decoding, List.of(new ArmSpec(intervention, Map.of())));
    }
}
