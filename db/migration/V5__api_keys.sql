-- API keys per team (sightline.auth.enabled). Only the SHA-256 of a key is stored: keys are 256 random bits, so
-- an unsalted fast hash cannot be reversed, and a lookup is one index probe per request.

CREATE TABLE api_keys (
    id          uuid        PRIMARY KEY,
    team        text        NOT NULL CHECK (team ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    name        text        NOT NULL,
    key_sha256  char(64)    NOT NULL UNIQUE,
    -- the key's first characters, so that people can tell their keys apart without the key
    key_prefix  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE INDEX api_keys_team ON api_keys (team, created_at);

-- the team that created the generation; NULL for generations made while API keys were off (seen only then)
ALTER TABLE generations ADD COLUMN team text;

CREATE INDEX generations_team_newest_first ON generations (team, created_at DESC, id DESC);
