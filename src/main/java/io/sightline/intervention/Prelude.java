package io.sightline.intervention;

import io.sightline.engine.ArmResult;
import io.sightline.engine.ImageInput;
import io.sightline.engine.ProbeKind;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * What an intervention's stage before decoding ({@link Intervention#prelude}) may use: the arm's input, and probe
 * generations that the engine runs. Probe generations are ordinary rows of one batch, decoded by the same step
 * loop as any request, each choosing its own greedy tokens; they are not part of the arm's output, and their time
 * counts in its latency.
 */
public interface Prelude {

    /** The request's image (model-ready pixels), null for a text-only request. */
    ImageInput image();

    /** The user's prompt. */
    String prompt();

    /** The same stage on another image (a composite arm chains its parts' preludes). */
    Prelude on(ImageInput image);

    /**
     * One greedy generation per probe on {@link #image()}, decoded together as rows of one batch, each up to
     * {@code maxNewTokens} tokens or its end-of-sequence token. Each probe's steerer is opened for its row and may
     * read the {@code reads} probes of every call (it writes no controls).
     *
     * @return one result per probe, in order
     */
    List<ArmResult> generate(List<Probe> probes, int maxNewTokens, Set<ProbeKind> reads);

    /** One probe generation: its prompt, and the steerer that reads its row's probes. */
    record Probe(String prompt, Function<ArmView, Steerer> steerer) {
    }
}
