package io.sightline.engine;

/**
 * Rows that decode together, one decoder call per step: their plan, the KV cache of all of them and the buffers
 * their calls use. A request's rows start as a cohort of their own (its prefill); {@link DecodeLoop} then joins
 * them into the running one.
 */
final class Cohort {

    final RowPlan plan;
    final KvCache kv;
    final RequestArena arena;
    int steps;               // decoder calls so far, for failure messages (0 = the prefill)

    Cohort(RowPlan plan, KvCache kv, RequestArena arena) {
        this.plan = plan;
        this.kv = kv;
        this.arena = arena;
    }

    /** No rows yet, with an arena of its own that outlives every request that joins it. */
    static Cohort empty(ModelBundle model) {
        RequestArena arena = new RequestArena();
        Cohort c = new Cohort(RowPlan.empty(model), new KvCache(model.dims(), arena, 0), arena);
        c.steps = 1;          // rows join it prefilled: its first call is a decode step
        return c;
    }

    boolean isEmpty() {
        return plan.rows() == 0;
    }

    /**
     * Drops finished rows (and prefill-only ones after the prefill) and the padding no row needs any more; with no
     * rows left, every key.
     */
    void retire(boolean afterPrefill) {
        int[] keep = plan.retire(afterPrefill);
        kv.retain(keep, keep.length == 0 ? kv.keys() : plan.unpad());
    }

    /** Takes over the rows of {@code other}, prefilled apart; its cache is copied into this one's arena. */
    void absorb(Cohort other) {
        int keys = Math.max(kv.keys(), other.kv.keys());
        plan.absorb(other.plan, keys - kv.keys(), keys - other.kv.keys());
        kv.append(other.kv);
    }
}
