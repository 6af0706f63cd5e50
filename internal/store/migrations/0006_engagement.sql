-- Posts creators submit to campaigns, read from their platform. A media item
-- bills one campaign only. What every poll rewrites (the high-water marks,
-- the schedule) lives apart in post_marks (0007), so a poll rewrites a
-- narrow row rather than the post with its caption.
CREATE TABLE posts (
    id              TEXT PRIMARY KEY,
    campaign_id     TEXT NOT NULL REFERENCES campaigns (id),
    creator_id      TEXT NOT NULL REFERENCES creators (id),
    account_ref     TEXT NOT NULL,            -- creator_accounts.id
    platform        TEXT NOT NULL,
    media_id        TEXT NOT NULL,
    permalink       TEXT NOT NULL DEFAULT '',
    caption         TEXT NOT NULL DEFAULT '',
    media_type      TEXT NOT NULL DEFAULT '',
    published_at    BIGINT NOT NULL,
    state           TEXT NOT NULL,            -- pending_approval | live | rejected | removed
    state_reason    TEXT NOT NULL DEFAULT '',
    warnings        TEXT NOT NULL DEFAULT '', -- JSON list of brief items not followed (non-blocking)
    submitted_at    BIGINT NOT NULL,
    decided_at      BIGINT NOT NULL DEFAULT 0,
    UNIQUE (platform, media_id)
);
CREATE INDEX posts_campaign ON posts (campaign_id, state, creator_id);
CREATE INDEX posts_creator ON posts (creator_id, id);

-- post_marks and post_snapshots: see 0007 (SQLite stores them WITHOUT ROWID).

-- Earnings: one per (campaign, creator) per billing tick, as the ledger
-- granted it. held → released after the holding period, unless put on_hold
-- by a review; voided returns the money to the escrow.
CREATE TABLE earnings (
    id            TEXT PRIMARY KEY,
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id),
    creator_id    TEXT NOT NULL REFERENCES creators (id),
    currency      TEXT NOT NULL,
    requested     BIGINT NOT NULL,
    gross         BIGINT NOT NULL CHECK (gross > 0),
    fee           BIGINT NOT NULL,
    net           BIGINT NOT NULL,
    detail        TEXT NOT NULL,              -- JSON: growth per post and metric
    accrue_tx_id  TEXT NOT NULL,
    state         TEXT NOT NULL,              -- held | on_hold | released | voided
    review_reason TEXT NOT NULL DEFAULT '',
    accrued_at    BIGINT NOT NULL,
    release_at    BIGINT NOT NULL,
    resolved_at   BIGINT NOT NULL DEFAULT 0,
    resolve_tx_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX earnings_due ON earnings (state, release_at);
CREATE INDEX earnings_campaign ON earnings (campaign_id, creator_id, id);
