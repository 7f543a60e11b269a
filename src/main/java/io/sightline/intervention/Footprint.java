package io.sightline.intervention;

import io.sightline.engine.ProbeKind;
import io.sightline.engine.Slot;
import java.util.List;
import java.util.Set;

/**
 * What an arm needs from the engine, declared before the first ONNX call so that admission can check it.
 *
 * @param branches extra rows besides the arm's base row
 * @param writes   control slots its steerer writes; vision slots (PATCH_SCALE, VISION_MIX, PIXELS) apply to the
 *                 {@link Branch.InputEdit#OWN_IMAGE} branches when the arm has any, else to the base row's image,
 *                 which then gets a vision row of its own instead of sharing the request's
 * @param reads    probes its steerer reads; only these are computed
 */
public record Footprint(List<Branch> branches, Set<Slot> writes, Set<ProbeKind> reads) {

    public Footprint {
        branches = List.copyOf(branches);
        writes = Set.copyOf(writes);
        reads = Set.copyOf(reads);
        if (branches.stream().map(Branch::name).distinct().count() != branches.size()) {
            throw new IllegalArgumentException("branch names must be distinct: " + branches);
        }
    }

    /** Plain decoding: one row, no controls, no probes. */
    public static Footprint none() {
        return new Footprint(List.of(), Set.of(), Set.of());
    }
}
