package io.sightline.engine;

import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.Prelude;
import io.sightline.intervention.Steerer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The engine's side of {@link Prelude}: probe generations are requests of one arm each, decoded together by
 * {@link Generator#run} (one batch, the same step loop, own greedy tokens per row). Their arms come from a registry
 * of one intervention that opens the probes' steerers, so the probe rows need nothing the step loop lacks.
 */
final class ArmPrelude implements Prelude {

    private final Generator generator;
    private final ImageInput image;
    private final String prompt;
    private final Cancellation cancel;

    ArmPrelude(Generator generator, ImageInput image, String prompt, Cancellation cancel) {
        this.generator = generator;
        this.image = image;
        this.prompt = prompt;
        this.cancel = cancel;
    }

    @Override
    public ImageInput image() {
        return image;
    }

    @Override
    public String prompt() {
        return prompt;
    }

    @Override
    public Prelude on(ImageInput other) {
        return new ArmPrelude(generator, other, prompt, cancel);
    }

    @Override
    public List<ArmResult> generate(List<Probe> probes, int maxNewTokens, Set<ProbeKind> reads) {
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < probes.size(); i++) {
            requests.add(new GenerationRequest(image, probes.get(i).prompt(), DecodingOptions.greedy(maxNewTokens),
                    List.of(new ArmSpec(ProbeArms.NAME, Map.of("row", i)))));
        }
        List<ArmResult> out = new ArrayList<>();
        generator.run(requests, InterventionRegistry.of(new ProbeArms(probes, reads)), cancel, TokenListener.NONE)
                .forEach(r -> out.add(r.get(0)));
        return out;
    }

    /** The arms of one generate call: arm {@code row} reads {@code reads} with probe {@code row}'s steerer. */
    private record ProbeArms(List<Probe> probes, Set<ProbeKind> reads) implements Intervention<ProbeArms.Row> {

        static final String NAME = "prelude-probe";

        record Row(int row) {
        }

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public String paper() {
            return "";
        }

        @Override
        public String summary() {
            return "a prelude's probe generation";
        }

        @Override
        public Row defaults() {
            return new Row(0);
        }

        @Override
        public Footprint footprint(Row p) {
            return new Footprint(List.of(), Set.of(), reads);
        }

        @Override
        public Steerer open(Row p, ArmView arm) {
            return probes.get(p.row()).steerer().apply(arm);
        }
    }
}
