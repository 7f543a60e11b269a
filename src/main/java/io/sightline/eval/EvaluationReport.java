package io.sightline.eval;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.sightline.scoring.Bootstrap;
import io.sightline.scoring.Interval;
import io.sightline.scoring.Synonyms;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Per-arm metrics with bootstrap confidence intervals and paired tests between every two arms, recomputed from the
 * stored answers of one evaluation. Only items every arm has answered count, so all arms are scored on the same
 * items (the tests are paired, and the bootstrap draws the same item sets for every arm).
 *
 * @param items    items every arm has answered
 * @param arms     one summary per arm, in arm order
 * @param comparisons for arms i < j, a test per compared metric; differences are arm j minus arm i
 */
public record EvaluationReport(int items, List<ArmSummary> arms, List<Comparison> comparisons) {

    /** Paired bootstrap resamples for CHAIR; as many as {@link Bootstrap#standard()} uses for intervals. */
    static final int PAIRED_RESAMPLES = 1000;

    /**
     * One arm's answers to one item.
     *
     * @param answers               one per prompt of the item ({@link BenchmarkKind#prompts})
     * @param visualAttentionRatio  the engine's score for the item's first prompt; null without one
     */
    public record ArmAnswer(int item, int arm, List<String> answers, int tokens, double latencyMs,
                            double tokensPerSecond, Double visualAttentionRatio) {
    }

    /**
     * @param metrics              the set's metrics (accuracy, chair_s, flip_rate, ...) with 95% bootstrap intervals
     * @param latencyP50Ms         median over items of the engine call's latency to this arm's last token
     * @param meanTokens           generated tokens per item
     * @param visualAttentionRatio mean over items; null when no item has one
     */
    public record ArmSummary(int arm, String intervention, int n, Map<String, Interval> metrics,
                             @JsonProperty("latency_p50_ms") double latencyP50Ms,
                             @JsonProperty("latency_p95_ms") double latencyP95Ms,
                             @JsonProperty("mean_tokens_per_second") double meanTokensPerSecond,
                             @JsonProperty("mean_tokens") double meanTokens,
                             @JsonProperty("visual_attention_ratio") Double visualAttentionRatio) {
    }

    /**
     * A paired test of one metric between arms {@code first} and {@code second}.
     *
     * @param test        {@code mcnemar-exact} (yes/no outcomes) or {@code paired-bootstrap} (CHAIR)
     * @param difference  second minus first
     * @param lower       95% interval of the difference (paired bootstrap); null for McNemar
     * @param upper       as lower
     * @param firstOnly   McNemar: items only the first arm got right; null for the bootstrap
     * @param secondOnly  McNemar: items only the second arm got right; null for the bootstrap
     */
    public record Comparison(int first, int second, String metric, String test, double difference, Double lower,
                             Double upper, @JsonProperty("first_only") Integer firstOnly,
                             @JsonProperty("second_only") Integer secondOnly, @JsonProperty("p_value") double pValue) {
    }

    /**
     * @param items         item index -> item, for every item of the evaluation
     * @param interventions each arm's intervention name, in arm order
     * @param answers       stored answers, any order; items some arm lacks are left out
     */
    public static EvaluationReport of(BenchmarkKind kind, Synonyms synonyms, Map<Integer, Record> items,
                                      List<String> interventions, List<ArmAnswer> answers, Bootstrap bootstrap) {
        int armCount = interventions.size();
        Map<Integer, ArmAnswer[]> byItem = new TreeMap<>();
        for (ArmAnswer a : answers) {
            byItem.computeIfAbsent(a.item(), i -> new ArmAnswer[armCount])[a.arm()] = a;
        }
        byItem.values().removeIf(row -> Arrays.stream(row).anyMatch(Objects::isNull));
        List<ArmAnswer[]> rows = new ArrayList<>(byItem.values());

        List<List<Object>> outcomes = new ArrayList<>();
        List<ArmSummary> arms = new ArrayList<>();
        for (int arm = 0; arm < armCount; arm++) {
            List<Object> armOutcomes = new ArrayList<>();
            for (ArmAnswer[] row : rows) {
                armOutcomes.add(kind.outcome(items.get(row[arm].item()), row[arm].answers(), synonyms));
            }
            outcomes.add(armOutcomes);
            arms.add(summary(kind, arm, interventions.get(arm), rows, armOutcomes, bootstrap));
        }

        List<Comparison> pairs = new ArrayList<>();
        for (int i = 0; i < armCount; i++) {
            for (int j = i + 1; j < armCount && !rows.isEmpty(); j++) {
                pairs.addAll(compare(kind, i, j, outcomes.get(i), outcomes.get(j)));
            }
        }
        return new EvaluationReport(rows.size(), arms, pairs);
    }

    private static ArmSummary summary(BenchmarkKind kind, int arm, String intervention, List<ArmAnswer[]> rows,
                                      List<Object> outcomes, Bootstrap bootstrap) {
        Map<String, Interval> metrics = new LinkedHashMap<>();
        if (!rows.isEmpty()) {
            kind.metrics().forEach((name, metric) -> metrics.put(name, bootstrap.interval(outcomes, metric)));
        }
        double[] latency = rows.stream().mapToDouble(r -> r[arm].latencyMs()).sorted().toArray();
        double[] ratios = rows.stream().map(r -> r[arm].visualAttentionRatio()).filter(Objects::nonNull)
                .mapToDouble(Double::doubleValue).toArray();
        return new ArmSummary(arm, intervention, rows.size(), metrics,
                latency.length == 0 ? 0 : Bootstrap.quantile(latency, 0.5),
                latency.length == 0 ? 0 : Bootstrap.quantile(latency, 0.95),
                rows.stream().mapToDouble(r -> r[arm].tokensPerSecond()).average().orElse(0),
                rows.stream().mapToDouble(r -> r[arm].tokens()).average().orElse(0),
                ratios.length == 0 ? null : Arrays.stream(ratios).average().orElseThrow());
    }

    private static List<Comparison> compare(BenchmarkKind kind, int i, int j, List<Object> first, List<Object> second) {
        if (kind == BenchmarkKind.CHAIR) {
            List<Comparison> out = new ArrayList<>();
            kind.metrics().forEach((name, metric) -> {
                // seed fixed per pair and metric, so a report reads the same every time it is computed
                PairedTests.Difference d = PairedTests.pairedBootstrap(first, second, metric, PAIRED_RESAMPLES,
                        0.95, 31L * (31L * i + j) + name.hashCode());
                out.add(new Comparison(i, j, name, "paired-bootstrap", d.difference().point(), d.difference().lower(),
                        d.difference().upper(), null, null, d.pValue()));
            });
            return out;
        }
        int firstOnly = 0;
        int secondOnly = 0;
        for (int k = 0; k < first.size(); k++) {
            boolean a = kind.correct(first.get(k));
            boolean b = kind.correct(second.get(k));
            firstOnly += a && !b ? 1 : 0;
            secondOnly += b && !a ? 1 : 0;
        }
        double difference = (double) (secondOnly - firstOnly) / first.size();
        String metric = kind == BenchmarkKind.SYCOPHANCY ? "leading_accuracy" : "accuracy";
        return List.of(new Comparison(i, j, metric, "mcnemar-exact", difference, null, null, firstOnly, secondOnly,
                PairedTests.mcnemarExact(firstOnly, secondOnly)));
    }
}
