-- What the engagement detectors (internal/fraud) remember of a post between
-- polls: its last reading, its highest counts and its recent growth
-- intervals (JSON, fraud.Series). Kept apart from post_snapshots so a poll
-- reads one row per post of the creators it bills, by (campaign, creator).
CREATE TABLE fraud_post_series (
    post_id      TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL,
    creator_id   TEXT NOT NULL,
    data         TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX fraud_post_series_creator ON fraud_post_series (campaign_id, creator_id);
