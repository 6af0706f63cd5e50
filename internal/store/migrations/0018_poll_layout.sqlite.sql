-- The engagement poll reads a campaign's due posts in creator order,
-- rewrites their marks and appends a snapshot per post. Two layouts change
-- for it (PostgreSQL: see the .postgres.sql of this number).
--
-- post_marks now carries what a poll needs of its post — creator, account,
-- platform, media id, and whether it is live —, so the due posts are read
-- from post_marks alone, through post_marks_due in the order they are
-- billed. These columns never change, except live, which mirrors
-- posts.state = 'live' (engage changes both in one transaction).
-- A poll rewrites its rows by seq, the rowid: a seek on an integer key costs
-- about half a seek on the text key post_id. No index covers a column a poll
-- changes. post_marks_post finds a post's marks by its id.
CREATE TABLE post_marks_new (
    seq             INTEGER PRIMARY KEY,
    campaign_id     TEXT NOT NULL,
    creator_id      TEXT NOT NULL,
    post_id         TEXT NOT NULL,
    account_ref     TEXT NOT NULL,
    platform        TEXT NOT NULL,
    media_id        TEXT NOT NULL,
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
INSERT INTO post_marks_new (campaign_id, creator_id, post_id, account_ref, platform, media_id, live,
        hwm_views, hwm_likes, hwm_comments, hwm_shares, hwm_saves, billed, last_polled_at, next_poll_at, failures)
    SELECT m.campaign_id, COALESCE(p.creator_id, ''), m.post_id, COALESCE(p.account_ref, ''), COALESCE(p.platform, ''),
        COALESCE(p.media_id, ''), COALESCE(p.state = 'live', FALSE),
        m.hwm_views, m.hwm_likes, m.hwm_comments, m.hwm_shares, m.hwm_saves, m.billed, m.last_polled_at, m.next_poll_at, m.failures
    FROM post_marks m LEFT JOIN posts p ON p.id = m.post_id
    ORDER BY m.campaign_id, p.creator_id, m.post_id;
DROP TABLE post_marks;
ALTER TABLE post_marks_new RENAME TO post_marks;
CREATE UNIQUE INDEX post_marks_post ON post_marks (post_id);
CREATE INDEX post_marks_due ON post_marks (campaign_id, creator_id, post_id);

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
