-- A post's billing state, rewritten by every poll: hwm_* are the
-- high-water marks (the highest count of each metric seen so far; only growth
-- above them is billed), billed the gross requested for the post so far, and
-- the poll schedule. Not indexed on anything a poll changes.
CREATE TABLE post_marks (
    post_id         TEXT NOT NULL PRIMARY KEY,
    campaign_id     TEXT NOT NULL,
    hwm_views       BIGINT NOT NULL DEFAULT 0,
    hwm_likes       BIGINT NOT NULL DEFAULT 0,
    hwm_comments    BIGINT NOT NULL DEFAULT 0,
    hwm_shares      BIGINT NOT NULL DEFAULT 0,
    hwm_saves       BIGINT NOT NULL DEFAULT 0,
    billed          BIGINT NOT NULL DEFAULT 0,
    last_polled_at  BIGINT NOT NULL DEFAULT 0,
    next_poll_at    BIGINT NOT NULL DEFAULT 0,
    failures        BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX post_marks_campaign ON post_marks (campaign_id);

-- Every read of a post's counters. NULL: the platform did not report it.
-- billable is false while the campaign was paused.
-- WITHOUT ROWID (SQLite): the primary key is the table, so each write touches
-- one B-tree rather than a row and an index entry.
CREATE TABLE post_snapshots (
    post_id   TEXT NOT NULL,
    taken_at  BIGINT NOT NULL,
    views     BIGINT,
    likes     BIGINT,
    comments  BIGINT,
    shares    BIGINT,
    saves     BIGINT,
    billable  BOOLEAN NOT NULL,
    PRIMARY KEY (post_id, taken_at)
) WITHOUT ROWID;
