-- Sightline schema v1: images stored once by content hash, one generation row per accepted request
-- (written before inference), one output row per intervention arm.

CREATE TABLE images (
    sha256      char(64)    PRIMARY KEY,
    bytes       bytea       NOT NULL,
    media_type  text        NOT NULL,
    width       integer     NOT NULL CHECK (width > 0),
    height      integer     NOT NULL CHECK (height > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE generations (
    id             uuid        PRIMARY KEY,
    status         text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    reason         text,
    prompt         text        NOT NULL,
    -- the request as accepted (decoding options, arms), without the image bytes
    request        jsonb       NOT NULL,
    -- the arms' intervention names, denormalised from request for the list filter
    interventions  text[]      NOT NULL,
    image_sha256   char(64)    NOT NULL REFERENCES images (sha256),
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    latency_ms     double precision,
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK (status <> 'failed' OR reason IS NOT NULL)
);

CREATE INDEX generations_newest_first ON generations (created_at DESC, id DESC);
CREATE INDEX generations_interventions ON generations USING gin (interventions);
CREATE INDEX generations_image ON generations (image_sha256);

CREATE TABLE outputs (
    generation_id     uuid             NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    arm_index         integer          NOT NULL CHECK (arm_index >= 0),
    intervention      text             NOT NULL,
    params            jsonb            NOT NULL,
    text              text             NOT NULL,
    tokens            integer[]        NOT NULL,
    -- per generated token, log-probability of the chosen token
    logprobs          jsonb            NOT NULL,
    latency_ms        double precision NOT NULL,
    tokens_per_second double precision NOT NULL,
    scores            jsonb            NOT NULL,
    PRIMARY KEY (generation_id, arm_index)
);

CREATE INDEX outputs_intervention ON outputs (intervention);
