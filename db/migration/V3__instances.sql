-- Which app instances are alive. Each instance writes a heartbeat (PostgreSQL's clock, so instances need not
-- agree on time); an instance silent for longer than sightline.instance.stale-after is dead, and the generations
-- it left running are stored as failed by whichever instance notices first. Without this, one instance could not
-- tell a generation that a crashed instance abandoned from one that another instance is still decoding.

CREATE TABLE instances (
    id            uuid        PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

-- the instance that accepted the generation; NULL for rows written before this migration (never recovered)
ALTER TABLE generations ADD COLUMN instance_id uuid;

CREATE INDEX generations_running_by_instance ON generations (instance_id) WHERE status = 'running';
