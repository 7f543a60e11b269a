-- Idempotency-Key on POST endpoints: the first request with a key claims it (the unique index makes concurrent
-- repeats lose the race instead of running twice), a success stores its response for repeats to replay, and a
-- failure releases the key so that a retry runs.

CREATE TABLE idempotency_keys (
    -- the caller's team; NULL while API keys are off (keys of different teams never collide)
    team            text,
    -- 'POST /v1/generations': the same key on two endpoints is two keys
    endpoint        text        NOT NULL,
    idempotency_key text        NOT NULL,
    -- SHA-256 of the request as parsed, so a repeat with another body is refused (multipart boundaries differ)
    request_sha256  char(64)    NOT NULL,
    -- the instance running the first request; its keys in progress are released when it is found dead
    instance_id     uuid        NOT NULL,
    -- the stored response; all NULL while the first request is still running
    status          integer,
    location        text,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    CHECK ((status IS NULL) = (response IS NULL))
);

CREATE UNIQUE INDEX idempotency_keys_claim ON idempotency_keys (coalesce(team, ''), endpoint, idempotency_key);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
CREATE INDEX idempotency_keys_in_progress ON idempotency_keys (instance_id) WHERE status IS NULL;
