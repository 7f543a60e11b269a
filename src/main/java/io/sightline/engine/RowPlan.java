package io.sightline.engine;

import io.sightline.engine.sampling.Sampler;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.BoundArm;
import io.sightline.intervention.Branch;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.Steerer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The rows of one request (STYLE.md §2.6): every arm's base row plus its declared branches, left-padded to a common
 * length, with their batch positions as rows retire. Built at admission, before any ONNX call, so unknown
 * interventions and bad parameters fail first. Plans of requests admitted apart can be joined into one batch
 * after their prefills ({@link #absorb}); a row's left padding then grows or shrinks with the batch's keys.
 */
final class RowPlan {

    /** One batch row. Indices into {@code ids} are unexpanded; the image token becomes N positions. */
    static final class Row {
        final RowRef ref;
        final Arm arm;
        final Tokenizer.PromptIds prompt;
        final Branch.Lifetime life;
        final boolean ownImage;  // an OWN_IMAGE branch: its image embeddings come from a vision row of its own
        final int length;       // prompt positions after the image token is expanded to N
        int pad;                // left padding: keys before the row's first real key in the current call
        int visionRow = -1;     // row of the vision call whose embeddings this row splices, -1 = no image

        Row(RowRef ref, Arm arm, Tokenizer.PromptIds prompt, Branch.Lifetime life, boolean ownImage, int imageTokens) {
            this.ref = ref;
            this.arm = arm;
            this.prompt = prompt;
            this.life = life;
            this.ownImage = ownImage && prompt.imageAt() >= 0;
            this.length = prompt.positions(imageTokens);
        }

        boolean hasImage() {
            return prompt.imageAt() >= 0;
        }

        /** Expanded position of unexpanded index i. */
        int expand(int i, int imageTokens) {
            return hasImage() && i > prompt.imageAt() ? i + imageTokens - 1 : i;
        }
    }

    /** One arm: its intervention, steerer, sampler and what it generated. */
    static final class Arm implements ArmView {
        final int index;         // unique among the arms of every plan this one may be joined with
        final int number;        // index within its admission: what the listener and the results call it
        final int request;       // index of its request's first arm: tells requests apart in joined plans
        final String prompt;
        ImageInput image;        // the request's, or what the arm's prelude made of it
        boolean refined;         // the prelude replaced the request's image
        final BoundArm bound;
        final ModelBundle model;
        final DecodingOptions decoding;
        final Sampler sampler;
        final TokenListener listener;
        final long t0;           // admission, for latencies
        private final Tokenizer tokenizer;
        final List<Row> rows = new ArrayList<>();
        final VisualAttention visual = new VisualAttention();
        Steerer steerer;
        int[] tokens = new int[16];
        float[] logprobs = new float[16];
        int count;
        int lastToken;
        int steps;               // decoder calls that chose a token: the index of this arm's next Step
        boolean done;
        RuntimeException failure; // thrown by this arm's own hooks; it ended the arm, not the batch
        String text;
        long endNanos;

        Arm(int index, int number, int request, String prompt, ImageInput image, BoundArm bound, ModelBundle model,
            DecodingOptions decoding, Sampler sampler, TokenListener listener, long t0, Tokenizer tokenizer) {
            this.index = index;
            this.number = number;
            this.request = request;
            this.prompt = prompt;
            this.image = image;
            this.bound = bound;
            this.model = model;
            this.decoding = decoding;
            this.sampler = sampler;
            this.listener = listener;
            this.t0 = t0;
            this.tokenizer = tokenizer;
        }

        /** This arm's view of a call of {@code queries} new positions over {@code keys} keys. */
        Step step(int queries, int keys) {
            return new Step(steps, queries, keys);
        }

        void fail(RuntimeException e) {
            failure = e;
            done = true;
        }

        void append(int token, float logprob) {
            if (count == tokens.length) {
                tokens = Arrays.copyOf(tokens, count * 2);
                logprobs = Arrays.copyOf(logprobs, count * 2);
            }
            tokens[count] = token;
            logprobs[count] = logprob;
            count++;
            lastToken = token;
        }

        /** Takes the image a prelude returned; a different one gets a vision row of its own. */
        void refine(ImageInput out) {
            if (out != image) {
                if (image == null || out == null || out.height() != image.height() || out.width() != image.width()) {
                    throw new IllegalStateException(bound.intervention() + "'s prelude must return an image of the request's size");
                }
                image = out;
                refined = true;
            }
        }

        boolean writes(Slot s) {
            return bound.footprint().writes().contains(s);
        }

        /**
         * Whether the base row's image gets a vision row of its own (see {@link io.sightline.intervention.Footprint}),
         * also when a prelude refined it.
         */
        boolean ownsBaseImage() {
            return refined || (writes(Slot.PATCH_SCALE) || writes(Slot.VISION_MIX) || writes(Slot.PIXELS))
                    && rows.stream().noneMatch(r -> r.ownImage);
        }

        @Override
        public RowRef base() {
            return new RowRef(index, RowRef.BASE);
        }

        @Override
        public RowRef branch(String name) {
            for (Row r : rows) {
                if (r.ref.branch().equals(name)) {
                    return r.ref;
                }
            }
            throw new IllegalArgumentException(bound.intervention() + " has no branch '" + name + "'");
        }

        @Override
        public ModelBundle model() {
            return model;
        }

        @Override
        public String prompt() {
            return prompt;
        }

        @Override
        public DecodingOptions decoding() {
            return decoding;
        }

        @Override
        public List<String> questionTokens(RowRef ref) {
            Tokenizer.PromptIds prompt = rows.stream().filter(r -> r.ref.equals(ref)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(ref + " is not a row of arm " + index)).prompt;
            List<String> out = new ArrayList<>();
            for (int i = prompt.questionFrom(); i < prompt.questionTo(); i++) {
                out.add(tokenizer.decode(new int[] {(int) prompt.ids()[i]}));
            }
            return out;
        }
    }

    List<Arm> arms;                  // every arm until the prefill; then those still live after each retire
    final int imageTokens;
    final int width;                 // prefill T: the longest row
    private List<Row> batch;
    private final Map<RowRef, Integer> index = new HashMap<>();

    private RowPlan(List<Arm> arms, int imageTokens) {
        this.arms = arms;
        this.imageTokens = imageTokens;
        List<Row> all = new ArrayList<>();
        arms.forEach(a -> all.addAll(a.rows));
        int w = 0;
        for (Row r : all) {
            w = Math.max(w, r.length);
        }
        this.width = w;
        for (Row r : all) {
            r.pad = w - r.length;
        }
        setBatch(all);
    }

    /**
     * Rows of several requests that decode in the same calls; arms are numbered across requests in order, from
     * {@code firstArm}, and tell {@code listener} their tokens by their number from 0.
     */
    static RowPlan admit(List<GenerationRequest> requests, InterventionRegistry registry, Tokenizer tokenizer,
                         ModelBundle model, int firstArm, TokenListener listener) {
        long t0 = System.nanoTime();
        int n = model.dims().imageTokens();
        List<Arm> arms = new ArrayList<>();
        for (int q = 0; q < requests.size(); q++) {
            GenerationRequest req = requests.get(q);
            String at = requests.size() == 1 ? "" : "requests[" + q + "].";
            if (req.image() != null
                    && (req.image().height() != model.imageSize() || req.image().width() != model.imageSize())) {
                throw new InvalidParamsException(at + "image", "must be resized to " + model.imageSize() + "x"
                        + model.imageSize() + " before the engine, was " + req.image().height() + "x" + req.image().width());
            }
            long seed = req.decoding().seed() != null ? req.decoding().seed() : ThreadLocalRandom.current().nextLong();
            int request = firstArm + arms.size();
            for (int i = 0; i < req.arms().size(); i++) {
                BoundArm bound = registry.bind(req.arms().get(i), at + "arms[" + i + "].params");
                Sampler sampler = Sampler.of(req.decoding(), req.decoding().armSeeds().of(seed, i));
                Arm arm = new Arm(firstArm + arms.size(), arms.size(), request, req.prompt(), req.image(), bound, model,
                        req.decoding(), sampler, listener, t0, tokenizer);
                boolean image = req.image() != null;
                arm.rows.add(new Row(arm.base(), arm, ids(tokenizer, bound.prompt(RowRef.BASE, req.prompt()), image),
                        Branch.Lifetime.WHOLE, false, n));
                for (Branch b : bound.footprint().branches()) {
                    String prompt = bound.prompt(b.name(), req.prompt());
                    if (prompt == null) {
                        continue;   // this prompt needs no such row (Intervention#prompt): it is never run
                    }
                    Tokenizer.PromptIds ids = ids(tokenizer, prompt, image && b.edit() != Branch.InputEdit.TEXT_ONLY);
                    arm.rows.add(new Row(new RowRef(arm.index, b.name()), arm, ids, b.life(),
                            b.edit() == Branch.InputEdit.OWN_IMAGE, n));
                }
                arms.add(arm);
            }
        }
        arms.forEach(a -> a.steerer = a.bound.open(a));
        return new RowPlan(List.copyOf(arms), n);
    }

    /**
     * The rows of plans admitted apart (arms numbered apart, none prefilled yet) in one plan, left-padded to the
     * longest, so that they prefill in the same calls.
     */
    static RowPlan join(List<RowPlan> plans) {
        List<Arm> arms = new ArrayList<>();
        plans.forEach(p -> arms.addAll(p.arms));
        return new RowPlan(List.copyOf(arms), plans.get(0).imageTokens);
    }

    /** No rows: the start of a batch that plans join after their prefills. */
    static RowPlan empty(ModelBundle model) {
        return new RowPlan(List.of(), model.dims().imageTokens());
    }

    /** A row's prompt ids: its (possibly rewritten) prompt in the template, with or without the image token. */
    private static Tokenizer.PromptIds ids(Tokenizer tokenizer, String prompt, boolean image) {
        Tokenizer.PromptIds ids = tokenizer.prompt(prompt);
        return image ? ids : ids.withoutImage();
    }

    List<Row> batch() {
        return batch;
    }

    int rows() {
        return batch.size();
    }

    int index(RowRef r) {
        Integer i = index.get(r);
        if (i == null) {
            throw new IllegalArgumentException("row " + r + " is not in this call");
        }
        return i;
    }

    KeySpans spans(RowRef ref, int keys) {
        Row r = batch.get(index(ref));
        int imageFrom = r.hasImage() ? r.pad + r.prompt.imageAt() : r.pad;
        int imageTo = r.hasImage() ? imageFrom + imageTokens : r.pad;
        return new KeySpans(keys, r.pad, imageFrom, imageTo, r.pad + r.expand(r.prompt.questionFrom(), imageTokens),
                r.pad + r.expand(r.prompt.questionTo(), imageTokens), r.pad + r.length);
    }

    List<Arm> liveArms() {
        return arms.stream().filter(a -> !a.done).toList();
    }

    /** Live arms with a row in the current batch (all live arms, except in the probe call). */
    List<Arm> callArms() {
        return liveArms().stream().filter(a -> a.rows.stream().anyMatch(r -> index.containsKey(r.ref))).toList();
    }

    /** Before the prefill: the batch becomes the PROBE rows alone, for their own call; false if there are none. */
    boolean startProbes() {
        List<Row> probes = batch.stream().filter(r -> r.life == Branch.Lifetime.PROBE).toList();
        if (probes.isEmpty()) {
            return false;
        }
        setBatch(probes);
        return true;
    }

    /** After the probe call: the batch becomes every other row (the probe rows' cache is dropped with the call). */
    void endProbes() {
        List<Row> rest = new ArrayList<>();
        arms.forEach(a -> a.rows.stream().filter(r -> r.life != Branch.Lifetime.PROBE).forEach(rest::add));
        setBatch(rest);
    }

    /** Decoder probes some live arm reads, plus attn_last for every output's visual attention ratio. */
    Set<ProbeKind> decoderProbes() {
        Set<ProbeKind> out = EnumSet.of(ProbeKind.ATTN_LAST);
        for (Arm a : liveArms()) {
            a.bound.footprint().reads().stream().filter(ProbeKind::decoder).forEach(out::add);
        }
        return out;
    }

    /**
     * Drops the rows of finished arms (and the arms), and prefill-only branches after the prefill; returns the
     * batch indices kept (ascending) for {@link KvCache#retain}.
     */
    int[] retire(boolean afterPrefill) {
        List<Row> keep = new ArrayList<>();
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            Row r = batch.get(i);
            if (!r.arm.done && !(afterPrefill && r.life == Branch.Lifetime.PREFILL_ONLY)) {
                keep.add(r);
                at.add(i);
            }
        }
        setBatch(keep);
        arms = liveArms();
        return at.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Removes the left padding every row has (keys no row attends to, e.g. after the longest row left) and returns
     * how many leading keys the cache may drop, so that a batch that never empties does not grow its S forever.
     */
    int unpad() {
        int common = batch.stream().mapToInt(r -> r.pad).min().orElse(0);
        batch.forEach(r -> r.pad -= common);
        return common;
    }

    /**
     * Appends the rows and arms of {@code other}, prefilled apart from this batch: each side's rows are
     * left-padded by the keys it lacks so that both end at the same key ({@link KvCache#append} does the same
     * to the cache).
     */
    void absorb(RowPlan other, int padThis, int padOther) {
        batch.forEach(r -> r.pad += padThis);
        other.batch.forEach(r -> r.pad += padOther);
        List<Row> rows = new ArrayList<>(batch);
        rows.addAll(other.batch);
        setBatch(rows);
        List<Arm> all = new ArrayList<>(arms);
        all.addAll(other.arms);
        arms = List.copyOf(all);
    }

    private void setBatch(List<Row> rows) {
        batch = List.copyOf(rows);
        index.clear();
        for (int i = 0; i < batch.size(); i++) {
            index.put(batch.get(i).ref, i);
        }
    }
}
