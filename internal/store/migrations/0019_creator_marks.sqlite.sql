-- A poll reads, bills and rewrites a creator's posts in a campaign together
-- (one balancing accrual per creator per tick). Their billing state becomes
-- one row per (campaign, creator), so a poll rewrites a row per creator, not
-- one per post (PostgreSQL: see the .postgres.sql of this number).
--
-- marks holds a line per post, ending in a line feed, of tab-separated
-- fields: post id, account ref, platform, media id (with '%', tab and line
-- feed percent-escaped), live (1 or 0; it mirrors posts.state = 'live'),
-- the high-water marks of views, likes, comments, shares and saves, the
-- billed total, last_polled_at, next_poll_at and failures. next_poll_at is
-- the earliest next poll of the row's live posts (the largest BIGINT when
-- none is live); version is bumped by every write, a poll's compare-and-set
-- guard. seq is the rowid: a poll rewrites rows by it.
CREATE TABLE creator_marks (
    seq           INTEGER PRIMARY KEY,
    campaign_id   TEXT NOT NULL,
    creator_id    TEXT NOT NULL,
    next_poll_at  BIGINT NOT NULL,
    version       BIGINT NOT NULL DEFAULT 0,
    marks         TEXT NOT NULL
);
CREATE UNIQUE INDEX creator_marks_key ON creator_marks (campaign_id, creator_id);
INSERT INTO creator_marks (campaign_id, creator_id, next_poll_at, marks)
    SELECT campaign_id, creator_id, COALESCE(MIN(CASE WHEN live THEN next_poll_at END), 9223372036854775807),
        group_concat(line, '' ORDER BY post_id)
    FROM (SELECT p.campaign_id, p.creator_id, p.post_id, m.live, m.next_poll_at,
            p.post_id || char(9) || p.account_ref || char(9) || p.platform || char(9) ||
            replace(replace(replace(p.media_id, '%', '%25'), char(9), '%09'), char(10), '%0A') || char(9) ||
            (CASE WHEN m.live THEN '1' ELSE '0' END) || char(9) ||
            m.hwm_views || char(9) || m.hwm_likes || char(9) || m.hwm_comments || char(9) || m.hwm_shares || char(9) ||
            m.hwm_saves || char(9) || m.billed || char(9) || m.last_polled_at || char(9) || m.next_poll_at || char(9) ||
            m.failures || char(10) AS line
        FROM post_polls p JOIN post_marks m ON m.seq = p.seq)
    GROUP BY campaign_id, creator_id
    ORDER BY campaign_id, creator_id;
DROP TABLE post_marks;
DROP TABLE post_polls;
