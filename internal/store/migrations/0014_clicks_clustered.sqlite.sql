-- SQLite: clicks become a WITHOUT ROWID table clustered on
-- (link_id, at, click_id). A stored click then costs one B-tree insert, not
-- two (the rowid table and clicks_link), and the clicks of a link lie
-- together in time order, which is how they are read (by link and time, and
-- by click id through its link and millisecond). PostgreSQL keeps its heap
-- and clicks_link.
CREATE TABLE clicks_clustered (
    link_id        TEXT NOT NULL REFERENCES links (id),
    click_id       TEXT NOT NULL,
    at             BIGINT NOT NULL,
    visitor        TEXT NOT NULL,
    country        TEXT NOT NULL,
    device         TEXT NOT NULL,
    referrer_host  TEXT NOT NULL,
    bot            BOOLEAN NOT NULL,
    is_unique      BOOLEAN NOT NULL,
    PRIMARY KEY (link_id, at, click_id)
) WITHOUT ROWID;
INSERT INTO clicks_clustered (link_id, click_id, at, visitor, country, device, referrer_host, bot, is_unique)
    SELECT link_id, click_id, at, visitor, country, device, referrer_host, bot, is_unique FROM clicks;
DROP TABLE clicks;
ALTER TABLE clicks_clustered RENAME TO clicks;
