package io.sightline.intervention.carve;

import io.sightline.engine.ArmResult;
import io.sightline.engine.FloatView;
import io.sightline.engine.ImageInput;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.KeySpans;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.ProbeKind;
import io.sightline.engine.Probes;
import io.sightline.engine.RowRef;
import io.sightline.engine.Step;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.Prelude;
import io.sightline.intervention.Range;
import io.sightline.intervention.Steerer;
import io.sightline.vision.ImagePreprocessor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * CARVE, Contrastive Attention Refinement for Visual Enhancement (Ge et al., "Focusing by Contrastive Attention:
 * Enhancing VLMs' Visual Reasoning", arXiv 2509.06461; code YuyaoGe/CARVE @ a1f0442, version v4). Before decoding,
 * two greedy probe generations on the image (the user's question, a general prompt) record at every step the
 * head-mean attention of the last query over the image keys; their ratio, weighted t+1 and summed over steps and
 * layers, marks the question-relevant pixels; the best regions are kept, the rest blacked out, cropped and
 * magnified, and the answer is decoded as plain greedy/sampled decoding on that refined image.
 *
 * <p>How it runs here: an input stage ({@link Intervention#prelude}) — the engine decodes both probes as rows of
 * one batch, each with its own greedy tokens, reading {@code attn_last}; the arm then joins the request's batch
 * with the refined image on a vision row of its own. No control is written. Reference:
 * onnx-models/tools/methods/carve.py, whose choices this follows:
 * <ul>
 * <li>Prompts: the code's suffix "Answer the question using a single word or phrase." and its general prompt are
 * outside this model's vocabulary: the question probe uses the user's prompt, the general probe
 * {@code general_prompt}.</li>
 * <li>Final pass: the paper's Alg. 1 (the refined image only). The code's [original, refined] two-image prompt
 * ({@code two_images}) is not served: the engine splices one image per row (one {@code <image>} token, one image
 * span in the key layout every control uses), so {@code two_images = true} is refused (422).</li>
 * <li>The code's probe loop re-runs the whole sequence every step; the engine decodes with its KV cache, which the
 * reference shows equal up to float rounding, so {@code reprocess_full_sequence = true} is refused (422).</li>
 * <li>The map is accumulated on the patch grid and resized once (resize is linear; the code resizes every term),
 * stretched over the whole image (this model's preprocessing is a plain resize, no centre crop).</li>
 * <li>The engine receives the image at the model's size (48x48), so CARVE crops that image; the reference crops
 * the original upload, which is the same for images at the model's size (all goldens) but loses detail for larger
 * uploads.</li>
 * <li>Resampling is PIL's, bit for bit ({@link io.sightline.vision.PilResample}): Lanczos for the magnification,
 * BOX for the model's own resize of the refined image (the upload path), so the refined image and the final logits
 * are the reference's (CarveParityTest, MethodParityTest).</li>
 * <li>Layers: the code's 20..25 of 32, scaled to this depth (calibration.json carve.layers).</li>
 * </ul>
 * No-op: {@code keep_ratio = 1} (mask = whole image, crop = image, the refined image is the original).
 */
public final class Carve implements Intervention<Carve.Params> {

    /**
     * @param layers                 decoder layers whose attention is contrasted
     * @param lam                    λ added to the general probe's attention before dividing
     * @param keepRatio              share of pixels above the threshold (the paper's top 20%)
     * @param minRegions             regions kept at least
     * @param regionFraction         share of the regions kept, if more than minRegions
     * @param probeTokens            tokens per probe generation at most
     * @param generalPrompt          the general probe's prompt
     * @param allSteps               v4: every probe step, weighted t+1; false: step 0 only (v1-v3)
     * @param twoImages              the code's [original, refined] final prompt: not served
     * @param reprocessFullSequence  the code's cache-free probe loop: not served
     */
    public record Params(List<Integer> layers, @Range(min = 0, minExclusive = true) double lam,
                         @Range(min = 0, max = 1, minExclusive = true) double keepRatio, @Range(min = 1) int minRegions,
                         @Range(min = 0, max = 1) double regionFraction, @Range(min = 1, max = 1024) int probeTokens,
                         String generalPrompt, boolean allSteps, boolean twoImages, boolean reprocessFullSequence) {
        public Params {
            layers = layers(layers);
            if (!(lam > 0) || Double.isInfinite(lam)) {
                throw new InvalidParamsException("lam", "must be a finite number > 0, was " + lam);
            }
            if (!(keepRatio > 0 && keepRatio <= 1)) {
                throw new InvalidParamsException("keep_ratio", "must be in (0, 1], was " + keepRatio);
            }
            if (minRegions < 1) {
                throw new InvalidParamsException("min_regions", "must be >= 1, was " + minRegions);
            }
            if (!(regionFraction >= 0 && regionFraction <= 1)) {
                throw new InvalidParamsException("region_fraction", "must be in [0, 1], was " + regionFraction);
            }
            if (probeTokens < 1 || probeTokens > 1024) {
                throw new InvalidParamsException("probe_tokens", "must be in 1..1024, was " + probeTokens);
            }
            if (generalPrompt == null || generalPrompt.isBlank()) {
                throw new InvalidParamsException("general_prompt", "must not be blank");
            }
            if (twoImages) {
                throw new InvalidParamsException("two_images", "is not served: the engine feeds one image per row "
                        + "(the paper's refined image only)");
            }
            if (reprocessFullSequence) {
                throw new InvalidParamsException("reprocess_full_sequence", "is not served: probes decode with the "
                        + "KV cache, which gives the same values up to float rounding");
            }
        }

        private static List<Integer> layers(List<?> layers) {
            if (layers == null || layers.isEmpty()) {
                throw new InvalidParamsException("layers", "must list at least one decoder layer");
            }
            List<Integer> out = new ArrayList<>();
            for (Object l : layers) {
                if (!(l instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue()) || n.doubleValue() < 0) {
                    throw new InvalidParamsException("layers", "must be decoder layer indices >= 0, was " + layers);
                }
                out.add(n.intValue());
            }
            if (new HashSet<>(out).size() != out.size()) {
                throw new InvalidParamsException("layers", "must be distinct, was " + layers);
            }
            return List.copyOf(out);
        }
    }

    /**
     * What the prelude made, for tests and tracing.
     *
     * @param questionTokens the question probe's tokens (end-of-sequence excluded)
     * @param generalTokens  the general probe's tokens
     * @param grid           the contrast map on the patch grid, row-major
     */
    public record Outcome(int[] questionTokens, int[] generalTokens, double[] grid, Refinement refinement) {
    }

    private final ModelBundle model;

    public Carve(ModelBundle model) {
        this.model = model;
    }

    @Override
    public String name() {
        return "carve";
    }

    @Override
    public String paper() {
        return "Ge et al., Focusing by Contrastive Attention: Enhancing VLMs' Visual Reasoning, arXiv 2509.06461";
    }

    @Override
    public String summary() {
        return "Two probe generations (the question, a general prompt) contrast their attention over the image; the "
                + "answer is decoded on the image cropped to the question-relevant regions and magnified.";
    }

    @Override
    public Params defaults() {
        return new Params(((List<?>) model.calibrated("carve", "layers")).stream().map(v -> ((Number) v).intValue()).toList(),
                1e-8, 0.2, 3, 0.2, 32, "describe the image .", true, false, false);
    }

    @Override
    public Footprint footprint(Params p) {
        for (int l : p.layers()) {
            if (l >= model.dims().layers()) {
                throw new InvalidParamsException("layers", "must be below the model's " + model.dims().layers()
                        + " decoder layers, was " + p.layers());
            }
        }
        return Footprint.none();
    }

    @Override
    public ImageInput prelude(Params p, Prelude in) {
        return in.image() == null ? null : refine(p, in).refinement().image();
    }

    /** The probe generations, the contrast map and the refined image of one request (an image is required). */
    public Outcome refine(Params p, Prelude in) {
        int[] layers = p.layers().stream().mapToInt(Integer::intValue).sorted().toArray();
        List<double[][]> question = new ArrayList<>();
        List<double[][]> general = new ArrayList<>();
        List<ArmResult> probes = in.generate(List.of(
                new Prelude.Probe(in.prompt(), arm -> imageAttention(arm.base(), layers, question)),
                new Prelude.Probe(p.generalPrompt(), arm -> imageAttention(arm.base(), layers, general))),
                p.probeTokens(), Set.of(ProbeKind.ATTN_LAST));
        int n = p.allSteps() ? Math.min(question.size(), general.size()) : 1;
        double[] grid = new double[model.dims().imageTokens()];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < layers.length; i++) {
                double[] q = question.get(t)[i];
                double[] g = general.get(t)[i];
                for (int j = 0; j < grid.length; j++) {
                    grid[j] += (t + 1) * (q[j] / (g[j] + p.lam()));
                }
            }
        }
        int size = in.image().height();
        byte[] rgb = ImagePreprocessor.rgb(in.image(), model.mean(), model.std());
        return new Outcome(probes.get(0).tokens(), probes.get(1).tokens(), grid,
                Refinement.of(rgb, size, in.image().width(), grid, p, model));
    }

    /**
     * A probe row's steerer: per call, per layer in {@code layers}, the head-mean of the last query's attention over
     * the image keys [N] (float32 mean over heads, then widened, as the reference's {@code mean(0).double()}).
     */
    private Steerer imageAttention(RowRef row, int[] layers, List<double[][]> into) {
        int heads = model.dims().heads();
        return new Steerer() {
            @Override
            public void afterCall(Step step, Probes in) {
                KeySpans k = in.spans(row);
                double[][] m = new double[layers.length][];
                for (int i = 0; i < layers.length; i++) {
                    float[] sum = new float[k.imageTo() - k.imageFrom()];
                    for (int h = 0; h < heads; h++) {
                        FloatView a = in.attnLast(row, layers[i], h);
                        for (int j = 0; j < sum.length; j++) {
                            sum[j] += a.get(k.imageFrom() + j);
                        }
                    }
                    m[i] = new double[sum.length];
                    for (int j = 0; j < sum.length; j++) {
                        m[i][j] = sum[j] / heads;
                    }
                }
                into.add(m);
            }
        };
    }

    @Override
    public Steerer open(Params p, ArmView arm) {
        return new Steerer() {
        };
    }
}
