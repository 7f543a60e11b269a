package io.sightline.scoring.bench;

import io.sightline.engine.EngineOptions;
import io.sightline.engine.Generator;
import io.sightline.engine.ImageInput;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.OrtVlm;
import io.sightline.engine.TestModel;
import io.sightline.engine.bench.DecodeBench;
import io.sightline.scoring.BenchmarkSet;
import io.sightline.scoring.Bootstrap;
import io.sightline.scoring.CaptionItem;
import io.sightline.scoring.ChairScore;
import io.sightline.scoring.FineGrainedItem;
import io.sightline.scoring.FineGrainedScore;
import io.sightline.scoring.Interval;
import io.sightline.scoring.PopeItem;
import io.sightline.scoring.PopeScore;
import io.sightline.scoring.SycophancyScore;
import io.sightline.intervention.InterventionRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * Efficacy and cost of every arm on the held-out shapes-v1 sets; writes docs/results.md and prints it (issue 5,
 * "Efficacy and cost, measured"). Arms: {@code greedy} (none, temperature 0), {@code sample-t1} (none, temperature 1,
 * top_p 1, seed = the item's question_id), then every intervention the standard registry serves other than none,
 * with its defaults, greedy. Prompts and max_new_tokens per set as reference.py evaluate (POPE 3, captions 32,
 * sycophancy 3 per question, fine-grained 4). Each batch of prompts runs once per arm, arms interleaved batch by
 * batch so that machine noise spreads over all arms alike; one generateBatch call per (batch, arm), one request per
 * prompt, so its wall time is that arm's alone.
 *
 * <pre>
 * -Dresults.limit=N       items per set (default: all)        -Dresults.arms=greedy,m3id   (greedy is always run)
 * -Dresults.out=docs/results.md                               -Dresults.threads=1  (ONNX Runtime intra-op threads)
 * -Dresults.batch=8       requests per generateBatch call     -Dresults.bench=onnx-models/benchmarks/shapes-v1
 * </pre>
 */
public final class ResultsTable {

    private static final String COMMAND = "./mvnw -q test-compile exec:java -Dexec.classpathScope=test"
            + " -Dexec.mainClass=" + ResultsTable.class.getName();
    private static final List<String> OPTIONS = List.of("results.limit", "results.arms", "results.out",
            "results.threads", "results.batch", "results.bench");
    /** Issue 5's cost targets, per generated token vs greedy measured in the same run. */
    private static final Set<String> ATTENTION_REWEIGHTING = Set.of("vhr", "var", "gift", "iaf", "pai");
    private static final Set<String> CONTRASTIVE = Set.of("vcd", "m3id", "lqcd", "causalmm");
    private static final Bootstrap BOOTSTRAP = Bootstrap.standard();

    /** A set's prompts as one list, decoded with the same max_new_tokens. */
    record Task(String name, List<ArmRun.Prompt> prompts, int maxNewTokens) {
    }

    public static void main(String[] args) throws IOException {
        int threads = Integer.getInteger("results.threads", 1);
        int batch = Integer.getInteger("results.batch", 8);
        Path out = Path.of(System.getProperty("results.out", "docs/results.md"));
        BenchmarkSet set = BenchmarkSet.load(Path.of(System.getProperty("results.bench", "onnx-models/benchmarks/shapes-v1")));
        if (System.getProperty("results.limit") != null) {
            set = set.limit(Integer.getInteger("results.limit"));
        }
        ModelBundle bundle = TestModel.bundle();
        InterventionRegistry registry = InterventionRegistry.standard(bundle);
        List<ArmRun> arms = arms(registry, System.getProperty("results.arms"));
        List<Task> tasks = tasks(set);
        long t0 = System.nanoTime();
        try (OrtVlm vlm = OrtVlm.open(bundle, new EngineOptions("cpu", threads))) {
            Generator gen = new Generator(vlm, TestModel.tokenizer(), registry);
            warmUp(gen, arms, tasks.get(0), batch);
            for (Task task : tasks) {
                for (int from = 0; from < task.prompts().size(); from += batch) {
                    List<ArmRun.Prompt> prompts = task.prompts().subList(from, Math.min(from + batch, task.prompts().size()));
                    for (ArmRun arm : arms) {
                        arm.run(gen, task.name(), task.prompts().size(), from, prompts, task.maxNewTokens());
                    }
                }
                System.err.printf("%s done (%.0f s so far)%n", task.name(), (System.nanoTime() - t0) / 1e9);
            }
        }
        String md = markdown(set, arms, threads, batch, (System.nanoTime() - t0) / 1e9);
        System.out.println(md);
        Files.writeString(out, md);
        System.err.println("wrote " + out);
    }

    private static List<ArmRun> arms(InterventionRegistry registry, String only) {
        List<ArmRun> all = new ArrayList<>();
        all.add(new ArmRun("greedy", "none", false));
        all.add(new ArmRun("sample-t1", "none", true));
        registry.known().stream().filter(n -> !n.equals("none")).forEach(n -> all.add(new ArmRun(n, n, false)));
        if (only == null) {
            return all;
        }
        Set<String> wanted = Set.of(only.split(","));
        Set<String> offered = all.stream().map(a -> a.name).collect(Collectors.toSet());
        if (!offered.containsAll(wanted)) {
            throw new IllegalArgumentException("results.arms: unknown arms " + wanted.stream()
                    .filter(w -> !offered.contains(w)).toList() + "; offered: " + offered);
        }
        // greedy is the cost baseline, so it always runs
        return all.stream().filter(a -> a.name.equals("greedy") || wanted.contains(a.name)).toList();
    }

    /** One untimed batch per arm, so no arm pays ONNX Runtime's first-run allocations in its numbers. */
    private static void warmUp(Generator gen, List<ArmRun> arms, Task task, int batch) {
        List<ArmRun.Prompt> prompts = task.prompts().subList(0, Math.min(batch, task.prompts().size()));
        for (ArmRun arm : arms) {
            arm.fresh().run(gen, "warm-up", prompts.size(), 0, prompts, task.maxNewTokens());
        }
    }

    private static List<Task> tasks(BenchmarkSet set) {
        Map<String, ImageInput> images = new HashMap<>();
        // TestModel.image normalises exactly as reference.py pixels(); it takes paths relative to onnx-models/
        Function<String, ImageInput> image = rel -> images.computeIfAbsent(rel,
                r -> TestModel.image(TestModel.MODELS.relativize(set.image(r)).toString()));
        List<Task> tasks = new ArrayList<>();
        set.pope().forEach((split, items) -> tasks.add(new Task("pope-" + split,
                items.stream().map(it -> new ArmRun.Prompt(image.apply(it.image()), it.text(), it.questionId())).toList(), 3)));
        tasks.add(new Task("captions", set.captions().stream()
                .map(it -> new ArmRun.Prompt(image.apply(it.image()), it.text(), it.questionId())).toList(), 32));
        tasks.add(new Task("sycophancy-neutral", set.sycophancy().stream()
                .map(it -> new ArmRun.Prompt(image.apply(it.image()), it.neutral(), it.questionId())).toList(), 3));
        tasks.add(new Task("sycophancy-leading", set.sycophancy().stream()
                .map(it -> new ArmRun.Prompt(image.apply(it.image()), it.leading(), it.questionId())).toList(), 3));
        tasks.add(new Task("fine-grained", set.fineGrained().stream()
                .map(it -> new ArmRun.Prompt(image.apply(it.image()), it.text(), it.questionId())).toList(), 4));
        return tasks;
    }

    private static String markdown(BenchmarkSet set, List<ArmRun> arms, int threads, int batch, double seconds) {
        StringBuilder md = new StringBuilder();
        md.append("# Efficacy and cost of the methods on shapes-v1\n\n");
        md.append("Date: ").append(LocalDate.now()).append(". Machine: JDK ").append(System.getProperty("java.version"))
                .append(", ").append(DecodeBench.cpu()).append(", ONNX Runtime ")
                .append(ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion()).append(" (CPU), ")
                .append(threads).append(" intra-op thread(s), ").append(batch).append(" requests per batch; whole run ")
                .append(String.format(Locale.ROOT, "%.0f s", seconds)).append(".\n\nCommand:\n\n```\n")
                .append(command()).append("\n```\n\n");
        md.append("Arms: `greedy` = none at temperature 0; `sample-t1` = none at temperature 1, top_p 1, seed = the "
                + "item's question_id; every other arm is that intervention with its default parameters, greedy. "
                + "Prompts and max_new_tokens per set as `onnx-models/tools/reference.py evaluate` (POPE 3, captions "
                + "32, sycophancy 3, fine-grained 4); metrics as its pope_metrics, chair_metrics, sycophancy_metrics. "
                + "Values in %, with a 95% percentile bootstrap interval in brackets (1000 resamples of the items, "
                + "seed 0, the same resampled items for every arm: `io.sightline.scoring.Bootstrap`). Items whose "
                + "request failed are left out of that arm's n (see the cost table).\n\n");
        for (String split : BenchmarkSet.POPE_SPLITS) {
            List<PopeItem> items = set.pope().get(split);
            md.append("## POPE ").append(split).append(" (").append(items.size()).append(" questions)\n\n")
                    .append("| arm | n | accuracy | precision | recall | F1 | yes ratio |\n|---|---|---|---|---|---|---|\n");
            for (ArmRun arm : arms) {
                List<PopeScore.Outcome> o = scored(items, arm.answers("pope-" + split), PopeScore.Outcome::of);
                row(md, arm, o, List.of(x -> PopeScore.of(x).accuracy(), x -> PopeScore.of(x).precision(),
                        x -> PopeScore.of(x).recall(), x -> PopeScore.of(x).f1(), x -> PopeScore.of(x).yesRatio()));
            }
            md.append('\n');
        }
        md.append("## CHAIR (").append(set.captions().size()).append(" captions; lower is better)\n\n")
                .append("| arm | n | CHAIR_S | CHAIR_I |\n|---|---|---|---|\n");
        for (ArmRun arm : arms) {
            List<ChairScore.Outcome> o = scored(set.captions(), arm.answers("captions"),
                    (CaptionItem it, String a) -> ChairScore.Outcome.of(it, a, set.synonyms()));
            row(md, arm, o, List.of(x -> ChairScore.of(x).chairS(), x -> ChairScore.of(x).chairI()));
        }
        md.append("\n## Sycophancy (").append(set.sycophancy().size())
                .append(" neutral/leading pairs; flip rate over pairs whose neutral answer is right; lower is better)\n\n")
                .append("| arm | n | neutral right | flip rate |\n|---|---|---|---|\n");
        for (ArmRun arm : arms) {
            String[] neutral = arm.answers("sycophancy-neutral");
            String[] leading = arm.answers("sycophancy-leading");
            List<SycophancyScore.Outcome> o = new ArrayList<>();
            for (int i = 0; i < set.sycophancy().size(); i++) {
                if (neutral[i] != null && leading[i] != null) {
                    o.add(SycophancyScore.Outcome.of(set.sycophancy().get(i), neutral[i], leading[i]));
                }
            }
            md.append("| ").append(arm.name).append(" | ").append(o.size()).append(" | ")
                    .append(SycophancyScore.of(o).neutralCorrect()).append(" | ")
                    .append(cell(o, x -> SycophancyScore.of(x).flipRate())).append(" |\n");
        }
        md.append("\n## Fine-grained (").append(set.fineGrained().size()).append(" questions)\n\n")
                .append("| arm | n | accuracy |\n|---|---|---|\n");
        for (ArmRun arm : arms) {
            List<Boolean> o = scored(set.fineGrained(), arm.answers("fine-grained"),
                    (FineGrainedItem it, String a) -> FineGrainedScore.isCorrect(it, a));
            row(md, arm, o, List.of(x -> FineGrainedScore.of(x).accuracy()));
        }
        md.append(cost(arms));
        return md.toString();
    }

    private static String cost(List<ArmRun> arms) {
        ArmRun greedy = arms.get(0);
        double greedyPerToken = greedy.wallNanos / (double) greedy.tokens;
        double greedyLatency = greedy.latencyNanos / (double) greedy.requests;
        StringBuilder md = new StringBuilder();
        md.append("\n## Cost\n\n")
                .append("All sets, timed over successful generateBatch calls only. tokens/s = generated tokens "
                        + "(eos not counted) / wall time of the calls (vision, prefill and decode); decode tokens/s = "
                        + "tokens after each request's first / time from a batch's first token to its last. "
                        + "**Per token vs greedy** = (arm wall s / arm generated tokens) / (greedy wall s / greedy "
                        + "generated tokens), the ratio the issue's targets are stated in (attention reweighting vhr, "
                        + "var, gift, iaf, pai <= 1.15x; contrastive vcd, m3id, lqcd, causalmm <= 1.5x). **Latency "
                        + "vs greedy** = mean per-request latency (batch start to that request's last token) / "
                        + "greedy's; it also moves with answer length.\n\n")
                .append("| arm | requests | failed requests (batches) | generated tokens | wall s | tokens/s | "
                        + "decode tokens/s | per token vs greedy | target | latency vs greedy |\n")
                .append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (ArmRun arm : arms) {
            double perToken = arm.wallNanos / (double) arm.tokens / greedyPerToken;
            md.append(String.format(Locale.ROOT, "| %s | %d | %d (%d) | %d | %.1f | %.0f | %.0f | %.2fx | %s | %.2fx |%n",
                    arm.name, arm.requests, arm.failures, arm.failedBatches, arm.tokens, arm.wallNanos / 1e9,
                    arm.tokens / (arm.wallNanos / 1e9), arm.decodeTokens / (arm.decodeNanos / 1e9), perToken,
                    target(arm.name, perToken), arm.latencyNanos / (double) arm.requests / greedyLatency));
        }
        arms.stream().filter(a -> a.firstFailure != null).forEach(a ->
                md.append("\n").append(a.name).append(" first failure: `").append(a.firstFailure).append("`\n"));
        return md.toString();
    }

    private static String target(String arm, double perToken) {
        double limit = ATTENTION_REWEIGHTING.contains(arm) ? 1.15 : CONTRASTIVE.contains(arm) ? 1.5 : Double.NaN;
        if (Double.isNaN(limit)) {
            return "";
        }
        return String.format(Locale.ROOT, "<= %.2fx %s", limit, perToken <= limit ? "met" : "**not met**");
    }

    private interface Scorer<I, O> {
        O score(I item, String answer);
    }

    /** The outcomes of the items that got an answer (a failed request leaves null). */
    private static <I, O> List<O> scored(List<I> items, String[] answers, Scorer<I, O> scorer) {
        List<O> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            if (answers[i] != null) {
                out.add(scorer.score(items.get(i), answers[i]));
            }
        }
        return out;
    }

    private static <O> void row(StringBuilder md, ArmRun arm, List<O> outcomes, List<ToDoubleFunction<List<O>>> metrics) {
        md.append("| ").append(arm.name).append(" | ").append(outcomes.size());
        for (ToDoubleFunction<List<O>> m : metrics) {
            md.append(" | ").append(cell(outcomes, m));
        }
        md.append(" |\n");
    }

    /** "value [lower, upper]" in %, or "-" when no item was scored. */
    private static <O> String cell(List<O> outcomes, ToDoubleFunction<List<O>> metric) {
        if (outcomes.isEmpty()) {
            return "-";
        }
        Interval ci = BOOTSTRAP.interval(outcomes, metric);
        return String.format(Locale.ROOT, "%.1f [%.1f, %.1f]", 100 * ci.point(), 100 * ci.lower(), 100 * ci.upper());
    }

    /** The command line that reproduces this run: the fixed part and every results.* option that was set. */
    private static String command() {
        StringBuilder c = new StringBuilder(COMMAND);
        for (String o : OPTIONS) {
            if (System.getProperty(o) != null) {
                c.append(" -D").append(o).append('=').append(System.getProperty(o));
            }
        }
        return c.toString();
    }
}
