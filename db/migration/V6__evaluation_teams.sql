-- Evaluations per team, like generations (V5): the team whose key created the evaluation; NULL for evaluations made
-- while API keys were off (seen only then).
ALTER TABLE evaluations ADD COLUMN team text;

CREATE INDEX evaluations_team_newest_first ON evaluations (team, created_at DESC, id DESC);

-- GET /v1/images/{sha256} with keys on asks whether one of the caller's evaluations has an item on the image
CREATE INDEX evaluation_items_image ON evaluation_items (image_sha256);
