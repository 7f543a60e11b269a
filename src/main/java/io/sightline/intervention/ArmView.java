package io.sightline.intervention;

import io.sightline.engine.DecodingOptions;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.RowRef;

/** What a steerer may know about its arm when it is opened. */
public interface ArmView {

    /** The arm's own row. */
    RowRef base();

    /** A branch row declared in the footprint; unknown names throw. */
    RowRef branch(String name);

    ModelBundle model();

    /** The user's prompt, before {@link Intervention#prompt} rewrites it for any row. */
    String prompt();

    DecodingOptions decoding();
}
