-- Evaluation items that keep failing end as 'failed' with their reason (eval/EvaluationWorker): a failed run hands
-- its items back with the error, and an item that reaches sightline.eval.max-attempts is failed for good, so one
-- bad item neither sinks the evaluation's other items nor is retried forever.
--
-- attempts now counts runs that were not handed back unrun: a failed run, a lease that ran out (its instance
-- crashed or stalled) and the run in flight or done. A stopping worker or a cancel hands its items back and takes
-- its claim off again.

ALTER TABLE evaluation_items
    -- the reason of the latest failed run; cleared when the item is done
    ADD COLUMN error text,
    DROP CONSTRAINT evaluation_items_status_check,
    ADD CONSTRAINT evaluation_items_status_check CHECK (status IN ('pending', 'leased', 'done', 'failed')),
    -- finished_at: when the item ended, done or failed
    DROP CONSTRAINT evaluation_items_check1,
    ADD CONSTRAINT evaluation_items_ended_check CHECK ((status IN ('done', 'failed')) = (finished_at IS NOT NULL)),
    ADD CONSTRAINT evaluation_items_failed_check CHECK (status <> 'failed' OR error IS NOT NULL);

DROP INDEX evaluation_items_open;
CREATE INDEX evaluation_items_open ON evaluation_items (evaluation_id, item_index) WHERE status IN ('pending', 'leased');
