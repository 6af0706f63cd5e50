-- Fraud flags (internal/fraud): what a detector found, about which subject
-- (a post, a creator, a click, an order or a payout destination), with a
-- reason a brand can read (the numbers in it) and a category the creator
-- sees (no thresholds). dedup_key (detector, subject, window) makes raising
-- idempotent: the same detector on the same subject and window raises once.
-- While a flag is open it holds earnings: the one named by earning_id, or,
-- when holds is set, the creator's earnings in the campaign (every campaign
-- when campaign_id is '') accrued at or after holds_from. A person decides:
-- dismissed (the held earnings release on schedule) or confirmed (they are
-- voided through the ledger); decided_by, decided_at and decision_reason
-- record who, when and why.
CREATE TABLE fraud_flags (
    id               TEXT PRIMARY KEY,
    dedup_key        TEXT NOT NULL,
    detector         TEXT NOT NULL,
    subject_kind     TEXT NOT NULL CHECK (subject_kind IN ('post', 'creator', 'click', 'order', 'payout_destination')),
    subject_id       TEXT NOT NULL,
    campaign_id      TEXT NOT NULL DEFAULT '',
    creator_id       TEXT NOT NULL DEFAULT '',
    score            DOUBLE PRECISION NOT NULL DEFAULT 0,
    severity         TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    reason           TEXT NOT NULL,
    category         TEXT NOT NULL,
    evidence         TEXT NOT NULL DEFAULT '{}',  -- JSON object: the numbers behind the reason
    holds            BOOLEAN NOT NULL DEFAULT FALSE,
    holds_from       BIGINT NOT NULL DEFAULT 0,
    earning_id       TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL CHECK (state IN ('open', 'dismissed', 'confirmed')),
    raised_at        BIGINT NOT NULL,
    decided_by       TEXT NOT NULL DEFAULT '',
    decided_at       BIGINT NOT NULL DEFAULT 0,
    decision_reason  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX fraud_flags_dedup ON fraud_flags (dedup_key);
CREATE INDEX fraud_flags_creator ON fraud_flags (creator_id, state);
CREATE INDEX fraud_flags_campaign ON fraud_flags (campaign_id, creator_id, id);
CREATE INDEX fraud_flags_state ON fraud_flags (state, id);

-- Detection sensitivity per campaign (relaxed | moderate | strict), kept by
-- the fraud package so the campaign tables are not touched. The row with
-- campaign_id '' is the operator's default for campaigns without their own.
CREATE TABLE fraud_sensitivity (
    campaign_id  TEXT PRIMARY KEY,
    sensitivity  TEXT NOT NULL CHECK (sensitivity IN ('relaxed', 'moderate', 'strict')),
    updated_by   TEXT NOT NULL DEFAULT '',
    updated_at   BIGINT NOT NULL
);
