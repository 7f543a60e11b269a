package io.sightline.engine;

/**
 * Addresses one batch row of a request: the arm's index in the request and a branch name ({@link #BASE} for the
 * arm's own row). Rows move inside a batch as others retire; a RowRef does not.
 */
public record RowRef(int arm, String branch) {

    public static final String BASE = "base";

    public boolean isBase() {
        return branch.equals(BASE);
    }
}
