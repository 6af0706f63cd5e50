-- The engagement poll reads a campaign's due posts in creator order,
-- rewrites their marks and appends a snapshot per post. Its tables change
-- shape for that (PostgreSQL: see the .postgres.sql of this number).
--
-- post_polls holds what a poll needs to read a post — campaign, creator,
-- account, platform, media id — and never changes. It is clustered on
-- (campaign_id, creator_id, post_id): a campaign's posts are one range of
-- one B-tree, in the order they are billed, without a join to posts.
--
-- post_marks stays narrow, since every poll rewrites every row: the
-- liveness (live mirrors posts.state = 'live'; engage changes both in one
-- transaction), the high-water marks, the billed total and the schedule. Its
-- key, seq, is the rowid: a poll finds a row by an integer, half the cost of
-- a seek on the text key post_id. No index covers a column a poll changes.
CREATE TABLE post_marks_new (
    seq             INTEGER PRIMARY KEY,
    post_id         TEXT NOT NULL,
    live            BOOLEAN NOT NULL,
    hwm_views       BIGINT NOT NULL DEFAULT 0,
    hwm_likes       BIGINT NOT NULL DEFAULT 0,
    hwm_comments    BIGINT NOT NULL DEFAULT 0,
    hwm_shares      BIGINT NOT NULL DEFAULT 0,
    hwm_saves       BIGINT NOT NULL DEFAULT 0,
    billed          BIGINT NOT NULL DEFAULT 0,
    last_polled_at  BIGINT NOT NULL DEFAULT 0,
    next_poll_at    BIGINT NOT NULL DEFAULT 0,
    failures        BIGINT NOT NULL DEFAULT 0
);
INSERT INTO post_marks_new (post_id, live, hwm_views, hwm_likes, hwm_comments, hwm_shares, hwm_saves, billed,
        last_polled_at, next_poll_at, failures)
    SELECT m.post_id, COALESCE(p.state = 'live', FALSE), m.hwm_views, m.hwm_likes, m.hwm_comments, m.hwm_shares,
        m.hwm_saves, m.billed, m.last_polled_at, m.next_poll_at, m.failures
    FROM post_marks m LEFT JOIN posts p ON p.id = m.post_id
    ORDER BY m.campaign_id, p.creator_id, m.post_id;
DROP TABLE post_marks;
ALTER TABLE post_marks_new RENAME TO post_marks;
CREATE UNIQUE INDEX post_marks_post ON post_marks (post_id);

CREATE TABLE post_polls (
    campaign_id  TEXT NOT NULL,
    creator_id   TEXT NOT NULL,
    post_id      TEXT NOT NULL,
    account_ref  TEXT NOT NULL,
    platform     TEXT NOT NULL,
    media_id     TEXT NOT NULL,
    seq          BIGINT NOT NULL, -- the post's post_marks row
    PRIMARY KEY (campaign_id, creator_id, post_id)
) WITHOUT ROWID;
INSERT INTO post_polls (campaign_id, creator_id, post_id, account_ref, platform, media_id, seq)
    SELECT p.campaign_id, p.creator_id, p.id, p.account_ref, p.platform, p.media_id, m.seq
    FROM post_marks m JOIN posts p ON p.id = m.post_id;

-- Snapshots are clustered by time, (taken_at, post_id): a poll appends its
-- rows at the end of the table, where clustering by post put each row on
-- another page (every tick dirtied a page per post, more as the table grew).
-- Reads by time range are one range; nothing reads one post's whole history.
CREATE TABLE post_snapshots_new (
    taken_at  BIGINT NOT NULL,
    post_id   TEXT NOT NULL,
    views     BIGINT,
    likes     BIGINT,
    comments  BIGINT,
    shares    BIGINT,
    saves     BIGINT,
    billable  BOOLEAN NOT NULL,
    PRIMARY KEY (taken_at, post_id)
) WITHOUT ROWID;
INSERT INTO post_snapshots_new (taken_at, post_id, views, likes, comments, shares, saves, billable)
    SELECT taken_at, post_id, views, likes, comments, shares, saves, billable FROM post_snapshots;
DROP TABLE post_snapshots;
ALTER TABLE post_snapshots_new RENAME TO post_snapshots;
