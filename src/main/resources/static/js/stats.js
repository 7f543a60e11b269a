// Reading an evaluation report: which way each metric is better, overhead against the baseline, plain-language
// verdicts on the paired tests, and which words of an output are hallucinations. Pure functions of API JSON.

// The metrics io.sightline.eval.BenchmarkKind serves, and leading_accuracy (the sycophancy sets' paired test).
// yes_ratio has no better direction (0.5 on a balanced set is calibrated), so it is left out.
const HIGHER_IS_BETTER = {
  accuracy: true, precision: true, recall: true, f1: true, neutral_accuracy: true, leading_accuracy: true,
  chair_s: false, chair_i: false, flip_rate: false,
};

export const SIGNIFICANCE = 0.05;

export function higherIsBetter(metric) {
  return HIGHER_IS_BETTER[metric];
}

/** The metric a set is judged by: the one its arms are compared on, or flip rate for sycophancy. */
export function headlineMetric(kind) {
  return {chair: 'chair_s', sycophancy: 'flip_rate'}[kind] ?? 'accuracy';
}

export function armLabel(arm) {
  return `${arm.intervention} (arm ${arm.arm})`;
}

/** The arm the others are measured against: the first plain-decoding arm, else arm 0. */
export function baselineArm(arms) {
  return arms.find(a => a.intervention === 'none') ?? arms[0];
}

/**
 * Seconds per generated token relative to the baseline arm, from the report's mean tokens per second (the report
 * has no seconds-per-token mean, so this is the ratio of the inverted means); null when either rate is missing.
 */
export function overhead(arm, baseline) {
  const a = arm.mean_tokens_per_second;
  const b = baseline.mean_tokens_per_second;
  return a > 0 && b > 0 ? b / a : null;
}

const points = d => `${(Math.abs(d) * 100).toFixed(1)} points`;
export const formatP = p => (p < 0.001 ? '< 0.001' : p.toFixed(3));

/**
 * One paired test in words. Differences in the report are second arm minus first.
 *
 * @returns {{better: object|null, worse: object|null, significant: boolean, text: string}}
 */
export function verdict(comparison, arms) {
  const first = arms[comparison.first];
  const second = arms[comparison.second];
  const {metric, difference: d, p_value: p, test} = comparison;
  const significant = p < SIGNIFICANCE;
  const tail = `(${test}, p = ${formatP(p)})`;
  if (d === 0 || higherIsBetter(metric) === undefined) {
    return {better: null, worse: null, significant, text:
        `${armLabel(first)} and ${armLabel(second)}: ${metric} differs by ${points(d)} ${tail}.`};
  }
  const [better, worse] = (d > 0) === higherIsBetter(metric) ? [second, first] : [first, second];
  const text = `${armLabel(better)} beats ${armLabel(worse)} on ${metric} by ${points(d)}: ` + (significant
      ? `significant at the 5% level ${tail}.`
      : `not significant ${tail}; on these items the two cannot be told apart.`);
  return {better, worse, significant, text};
}

/**
 * The headline: the best arm on the compared metric and, against each other arm, whether its lead is significant.
 * Null when the report has no paired test yet.
 */
export function headline(report) {
  const comparisons = report.comparisons ?? [];
  if (!comparisons.length) return null;
  const metric = comparisons[0].metric;
  const verdicts = comparisons.filter(c => c.metric === metric).map(c => ({c, v: verdict(c, report.arms)}));
  // the best arm is the one no other arm beats; with ties, the one with the most wins
  const wins = report.arms.map(a => verdicts.filter(x => x.v.better === a).length);
  const losses = report.arms.map(a => verdicts.filter(x => x.v.worse === a).length);
  const best = report.arms.reduce((b, a) => (losses[a.arm] < losses[b.arm]
      || (losses[a.arm] === losses[b.arm] && wins[a.arm] > wins[b.arm]) ? a : b));
  if (wins[best.arm] === 0) {
    return {best: null, text: `No arm differs from another on ${metric}.`};
  }
  const ahead = verdicts.filter(x => x.v.better === best);
  const sig = ahead.filter(x => x.v.significant).map(x => armLabel(x.v.worse));
  const not = ahead.filter(x => !x.v.significant).map(x => armLabel(x.v.worse));
  const parts = [];
  if (sig.length) parts.push(`significantly better than ${sig.join(', ')}`);
  if (not.length) parts.push(`ahead of ${not.join(', ')} but not significantly`);
  return {best, significant: not.length === 0,
    text: `Best on ${metric}: ${armLabel(best)}, ${parts.join('; ')} (paired tests, 5% level).`};
}

// shapes-v1's synonyms.json names each object by itself and its plural ("circles", "crosss"); the items API gives
// canonical names, so a word names an object when it is the name plus an optional plural ending.
function objectOf(word, objects) {
  return objects.find(o => word === o || word === `${o}s` || word === `${o}es`) ?? null;
}

/**
 * One arm's answer to one item, cut into spans with a class for what each part is.
 *
 * @returns {{outcome: 'right'|'hallucination'|'miss'|'wrong', note: string, spans: {text: string, cls: string|null}[]}[]}
 *          one entry per answer (sycophancy: the neutral then the leading question's)
 */
export function markAnswer(kind, item, result) {
  const sc = result.scores ?? {};
  const whole = (text, cls) => [{text, cls}];
  switch (kind) {
    case 'pope': {
      const outcome = sc.correct ? 'right' : sc.answered_yes ? 'hallucination' : 'miss';
      const note = {right: 'right', hallucination: `says yes: there is no ${item.object}`,
        miss: `says no: there is a ${item.object}`}[outcome];
      return [{outcome, note, spans: whole(result.answer, outcome)}];
    }
    case 'chair': {
      const invented = sc.hallucinated_objects ?? [];
      const known = [...item.objects, ...invented];
      const spans = result.answer.split(/(\w+)/).filter(t => t).map(t => {
        const o = objectOf(t, known);
        return {text: t, cls: o === null ? null : invented.includes(o) ? 'hallucination' : 'grounded'};
      });
      return [{outcome: invented.length ? 'hallucination' : 'right',
        note: invented.length ? `not in the image: ${invented.join(', ')}` : 'every object mentioned is there', spans}];
    }
    case 'sycophancy': {
      const neutral = sc.neutral_right ? 'right' : 'wrong';
      const leading = sc.correct ? 'right' : 'wrong';
      return [
        {outcome: neutral, note: `neutral question: ${neutral}`, spans: whole(result.answer, neutral)},
        {outcome: leading, note: `leading question: ${leading}${sc.flipped ? ', flipped' : ''}`,
          spans: whole(result.leading_answer ?? '', leading)},
      ];
    }
    default: {
      const outcome = sc.correct ? 'right' : 'wrong';
      return [{outcome, note: sc.correct ? 'right' : `expected ${item.answer}`, spans: whole(result.answer, outcome)}];
    }
  }
}
