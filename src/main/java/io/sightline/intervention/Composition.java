package io.sightline.intervention;

import io.sightline.engine.ArmControls;
import io.sightline.engine.ArmLogits;
import io.sightline.engine.ArmVisionControls;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.FloatView;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.Probes;
import io.sightline.engine.RowRef;
import io.sightline.engine.Slot;
import io.sightline.engine.Step;
import io.sightline.engine.VisionProbes;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Several interventions in one arm (beyond the papers), e.g. {@code var+vcd}. The rule:
 * <ul>
 *   <li>every part keeps its own branch rows, named {@code <part>/<branch>}; a part edits only its own branches
 *       and the shared base row;</li>
 *   <li>stackable slots combine as the engine stacks them (attention biases add, head and patch scales multiply);
 *       two parts writing the same exclusive slot (amp, mix, redist, focus, pair, vision mix, pixels, row mask,
 *       probe layer) cannot compose and the arm is refused before any work;</li>
 *   <li>hooks run in list order, so logit processors chain: each part's {@code combine} sees the base logits as the
 *       parts before it left them; prompt rewrites of the base row also apply in list order.</li>
 * </ul>
 */
final class Composition {

    static final String SEPARATOR = "+";

    private Composition() {
    }

    /** Branch name of a part's branch inside the composite arm. */
    static String branch(String part, String name) {
        return part + "/" + name;
    }

    /** The merged footprint; refuses parts that write the same exclusive slot. */
    static Footprint footprint(List<String> names, List<Footprint> parts, String field) {
        List<Branch> branches = new ArrayList<>();
        Set<Slot> writes = EnumSet.noneOf(Slot.class);
        Set<io.sightline.engine.ProbeKind> reads = new HashSet<>();
        for (int i = 0; i < parts.size(); i++) {
            Footprint f = parts.get(i);
            for (Slot s : f.writes()) {
                if (!writes.add(s) && !s.stackable() && s != Slot.LOGITS) {
                    throw new InvalidParamsException(field, "cannot compose " + String.join(SEPARATOR, names)
                            + ": more than one part writes the exclusive control " + s.name().toLowerCase());
                }
            }
            reads.addAll(f.reads());
            for (Branch b : f.branches()) {
                branches.add(new Branch(branch(names.get(i), b.name()), b.edit(), b.life()));
            }
        }
        return new Footprint(branches, writes, reads);
    }

    /** The parts' steerers behind one: every hook in list order. */
    static Steerer chain(List<String> names, List<BoundArm> parts, ArmView arm) {
        List<Steerer> steerers = new ArrayList<>();
        List<String> prefixes = new ArrayList<>();
        List<Steerer> probing = new ArrayList<>();     // parts with PROBE rows: the only ones the probe call is for
        for (int i = 0; i < parts.size(); i++) {
            steerers.add(parts.get(i).open(new PartView(arm, names.get(i))));
            prefixes.add(names.get(i));
            if (parts.get(i).footprint().branches().stream().anyMatch(b -> b.life() == Branch.Lifetime.PROBE)) {
                probing.add(steerers.get(i));
            }
        }
        return new Steerer() {
            @Override
            public void beforeVision(ArmVisionControls out) {
                steerers.forEach(s -> s.beforeVision(out));
            }

            @Override
            public void afterVision(VisionProbes in) {
                steerers.forEach(s -> s.afterVision(in));
            }

            @Override
            public void beforeBranchImages(ArmVisionControls out) {
                steerers.forEach(s -> s.beforeBranchImages(out));
            }

            @Override
            public void beforeCall(Step step, ArmControls out) {
                steerers.forEach(s -> s.beforeCall(step, out));
            }

            @Override
            public void afterCall(Step step, Probes in) {
                (step.isProbe() ? probing : steerers).forEach(s -> s.afterCall(step, in));
            }

            @Override
            public void combine(Step step, ArmLogits io) {
                for (int i = 0; i < steerers.size(); i++) {
                    String part = prefixes.get(i);
                    steerers.get(i).combine(step, new ArmLogits() {
                        @Override
                        public float[] base() {
                            return io.base();
                        }

                        @Override
                        public FloatView branch(String name) {
                            return io.branch(Composition.branch(part, name));
                        }
                    });
                }
            }
        };
    }

    /** A part's view of the arm: its branch names resolve inside its own namespace. */
    private record PartView(ArmView arm, String part) implements ArmView {
        @Override
        public RowRef base() {
            return arm.base();
        }

        @Override
        public RowRef branch(String name) {
            return arm.branch(Composition.branch(part, name));
        }

        @Override
        public ModelBundle model() {
            return arm.model();
        }

        @Override
        public String prompt() {
            return arm.prompt();
        }

        @Override
        public DecodingOptions decoding() {
            return arm.decoding();
        }
    }
}
