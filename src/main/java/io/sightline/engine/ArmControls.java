package io.sightline.engine;

import java.util.Set;
import java.util.function.Function;

/** One arm's share of a decoder call's {@link Controls}: only its own rows, written under its name. */
public final class ArmControls {

    private final Controls controls;
    private final int arm;
    private final String writer;
    private final Set<Slot> declared;
    private final Function<RowRef, KeySpans> spans;

    ArmControls(Controls controls, int arm, String writer, Set<Slot> declared, Function<RowRef, KeySpans> spans) {
        this.controls = controls;
        this.arm = arm;
        this.writer = writer;
        this.declared = declared;
        this.spans = spans;
    }

    /** Controls of one of this arm's rows; slots outside the arm's footprint are refused. */
    public RowControls row(RowRef r) {
        own(r);
        return controls.row(r, writer, declared);
    }

    /** Key ranges of one of this arm's rows in this call. */
    public KeySpans spans(RowRef r) {
        own(r);
        return spans.apply(r);
    }

    /** Selects the decoder layer returned in {@code attn_heads} for this call. */
    public void probeLayer(int l) {
        if (!declared.contains(Slot.PROBE_LAYER)) {
            throw new ControlConflictException(writer + " writes PROBE_LAYER without declaring it in its footprint");
        }
        controls.probeLayer(l, writer);
    }

    private void own(RowRef r) {
        if (r.arm() != arm) {
            throw new ControlConflictException(writer + " (arm " + arm + ") may not write row " + r);
        }
    }
}
