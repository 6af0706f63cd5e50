-- The engagement poll reads a campaign's due posts in creator order,
-- rewrites their marks and appends a snapshot per post (SQLite: see the
-- .sqlite.sql of this number).
--
-- post_marks now carries what a poll needs of its post — creator, account,
-- platform, media id, and whether it is live —, so the due posts are read
-- from post_marks alone, through post_marks_due in the order they are
-- billed. These columns never change, except live, which mirrors
-- posts.state = 'live' (engage changes both in one transaction).
-- A poll rewrites its rows by seq, as on SQLite, where seq is the rowid.
ALTER TABLE post_marks
    ADD COLUMN seq         BIGINT GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN creator_id  TEXT NOT NULL DEFAULT '',
    ADD COLUMN account_ref TEXT NOT NULL DEFAULT '',
    ADD COLUMN platform    TEXT NOT NULL DEFAULT '',
    ADD COLUMN media_id    TEXT NOT NULL DEFAULT '',
    ADD COLUMN live        BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE post_marks m SET creator_id = p.creator_id, account_ref = p.account_ref, platform = p.platform,
    media_id = p.media_id, live = (p.state = 'live')
    FROM posts p WHERE p.id = m.post_id;
ALTER TABLE post_marks
    ALTER COLUMN creator_id DROP DEFAULT,
    ALTER COLUMN account_ref DROP DEFAULT,
    ALTER COLUMN platform DROP DEFAULT,
    ALTER COLUMN media_id DROP DEFAULT,
    ALTER COLUMN live DROP DEFAULT;
DROP INDEX post_marks_campaign;
CREATE INDEX post_marks_due ON post_marks (campaign_id, creator_id, post_id);
CREATE UNIQUE INDEX post_marks_seq ON post_marks (seq);
-- Every poll rewrites every row; room left in each page lets the new
-- version stay on it without touching the indexes (a HOT update), since a
-- poll changes no indexed column.
ALTER TABLE post_marks SET (fillfactor = 70);

-- Snapshots are keyed by time first, (taken_at, post_id): a poll's rows go
-- to the right edge of the key's B-tree rather than one page per post all
-- over it. Reads by time range use it; nothing reads one post's whole history.
ALTER TABLE post_snapshots DROP CONSTRAINT post_snapshots_pkey;
ALTER TABLE post_snapshots ADD PRIMARY KEY (taken_at, post_id);
