-- Tracked links and their clicks (internal/links). Times are BIGINT unix
-- microseconds (UTC).

-- One short link per (campaign, creator, placement), served at /r/{slug}.
-- destination, utm_source (the creator's handle) and utm_campaign (a slug of
-- the campaign name) are fixed when the link is made, so a link keeps
-- sending what it sent when it was printed in a bio or an ad.
CREATE TABLE links (
    id            TEXT PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id),
    creator_id    TEXT NOT NULL REFERENCES creators (id),
    placement     TEXT NOT NULL,
    medium        TEXT NOT NULL CHECK (medium IN ('influencer', 'paid_social')),
    destination   TEXT NOT NULL,
    utm_source    TEXT NOT NULL,
    utm_campaign  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (campaign_id, creator_id, placement)
);
CREATE INDEX links_creator ON links (creator_id);

-- Every click, appended in batches, never updated. visitor is the first
-- 128 bits, in hex, of the SHA-256 of (salt | IP | user agent): no raw IP
-- is kept. click_id has no index yet: nothing looks clicks up by it until
-- conversions arrive (each index costs every click a B-tree insert). bot clicks are
-- kept and flagged; is_unique marks the first human click of a visitor on a
-- link within an hour. click_id is the id appended to the destination.
CREATE TABLE clicks (
    link_id        TEXT NOT NULL REFERENCES links (id),
    click_id       TEXT NOT NULL,
    at             BIGINT NOT NULL,
    visitor        TEXT NOT NULL,
    country        TEXT NOT NULL,
    device         TEXT NOT NULL,
    referrer_host  TEXT NOT NULL,
    bot            BOOLEAN NOT NULL,
    is_unique      BOOLEAN NOT NULL
);
CREATE INDEX clicks_link ON clicks (link_id, at);

-- Server-wide settings payper generates once and keeps (the click salt).
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
