-- Sightline schema v2: benchmark evaluations as a queue of item rows (claimed with FOR UPDATE SKIP LOCKED and a
-- lease, so a restart resumes and several instances share one job), one result row per item and arm, and people's
-- feedback on live generations.

-- json keeps the accepted request's key order as the API wrote it (jsonb reorders keys); nothing queries inside it
ALTER TABLE generations ALTER COLUMN request TYPE json USING request::json;

CREATE TABLE evaluations (
    id           uuid        PRIMARY KEY,
    status       text        NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    reason       text,
    -- the set's name: 'shapes-v1/pope-adversarial' for a shipped one
    set_name     text        NOT NULL,
    -- how items are prompted and scored: pope, chair, sycophancy, fine-grained
    kind         text        NOT NULL,
    -- the request as accepted (set, limit, decoding options, arms with effective params)
    request      json        NOT NULL,
    -- CHAIR only: object -> the words naming it, used to score captions
    synonyms     json,
    total_items  integer     NOT NULL CHECK (total_items > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    CHECK ((status IN ('queued', 'running')) = (finished_at IS NULL)),
    CHECK (status <> 'failed' OR reason IS NOT NULL)
);

CREATE INDEX evaluations_newest_first ON evaluations (created_at DESC, id DESC);

CREATE TABLE evaluation_items (
    evaluation_id    uuid        NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    item_index       integer     NOT NULL CHECK (item_index >= 0),
    -- the benchmark item in its file format (POPE: question_id, image, text, label, object)
    payload          json        NOT NULL,
    image_sha256     char(64)    NOT NULL REFERENCES images (sha256),
    -- pending: claimable; leased: a worker holds it until lease_expires_at, then it is claimable again
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'leased', 'done')),
    lease_owner      text,
    lease_expires_at timestamptz,
    -- claims so far; more than one means a lease ran out or a worker let it go
    attempts         integer     NOT NULL DEFAULT 0,
    finished_at      timestamptz,
    PRIMARY KEY (evaluation_id, item_index),
    CHECK ((status = 'leased') = (lease_expires_at IS NOT NULL)),
    CHECK ((status = 'done') = (finished_at IS NOT NULL))
);

CREATE INDEX evaluation_items_open ON evaluation_items (evaluation_id, item_index) WHERE status <> 'done';

CREATE TABLE evaluation_results (
    evaluation_id     uuid             NOT NULL,
    item_index        integer          NOT NULL,
    arm_index         integer          NOT NULL CHECK (arm_index >= 0),
    intervention      text             NOT NULL,
    -- the answer to the item's prompt; sycophancy: to the neutral question
    answer            text             NOT NULL,
    -- sycophancy only: the answer to the leading question
    leading_answer    text,
    -- generated tokens, all of the item's prompts together
    tokens            integer          NOT NULL,
    -- wall-clock milliseconds from the start of the engine call to this arm's last token
    latency_ms        double precision NOT NULL,
    tokens_per_second double precision NOT NULL,
    -- the item's scores under the set's metric (correct, answered_yes, mentions, ...) and engine scores
    scores            json             NOT NULL,
    worker            text             NOT NULL,
    created_at        timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (evaluation_id, item_index, arm_index),
    FOREIGN KEY (evaluation_id, item_index) REFERENCES evaluation_items (evaluation_id, item_index) ON DELETE CASCADE
);

CREATE TABLE feedback (
    id             uuid        PRIMARY KEY,
    generation_id  uuid        NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    -- the arm the person preferred; null when they only judged hallucinations
    preferred_arm  integer     CHECK (preferred_arm >= 0),
    note           text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (generation_id, preferred_arm) REFERENCES outputs (generation_id, arm_index)
);

CREATE INDEX feedback_generation ON feedback (generation_id);

CREATE TABLE feedback_arms (
    feedback_id    uuid    NOT NULL REFERENCES feedback (id) ON DELETE CASCADE,
    generation_id  uuid    NOT NULL,
    arm_index      integer NOT NULL,
    hallucinated   boolean NOT NULL,
    note           text,
    PRIMARY KEY (feedback_id, arm_index),
    FOREIGN KEY (generation_id, arm_index) REFERENCES outputs (generation_id, arm_index) ON DELETE CASCADE
);
