package io.sightline.intervention;

import io.sightline.engine.DecodingOptions;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.RowRef;
import java.util.List;

/** What a steerer may know about its arm when it is opened. */
public interface ArmView {

    /** The arm's own row. */
    RowRef base();

    /** A branch row declared in the footprint; unknown names throw. */
    RowRef branch(String name);

    ModelBundle model();

    /** The user's prompt, before {@link Intervention#prompt} rewrites it for any row. */
    String prompt();

    /**
     * Row {@code r}'s prompt words as the tokenizer split them, one per key of {@link io.sightline.engine.KeySpans#question()}
     * in order (GIFT tags content words by their token).
     */
    List<String> questionTokens(RowRef r);

    DecodingOptions decoding();
}
