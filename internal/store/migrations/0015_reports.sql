-- Reports (internal/report): daily rollups kept up to date as events
-- happen, so reports never scan clicks, snapshots or orders; paid-social
-- placements and their imported daily results; optimization plans.

-- One row per (campaign, creator, placement, UTC day): counters and
-- micro-unit sums, each added to by the event that changes it (in that
-- event's transaction). placement '' holds what belongs to the creator as a
-- whole (engagement, earnings, code sales); a link's placement holds its
-- clicks and the sales of its clicks; an ad placement's name holds its
-- imported results. day is days since 1970-01-01 (UTC). Money is in the
-- campaign's currency.
CREATE TABLE rollups (
    campaign_id        TEXT NOT NULL,
    creator_id         TEXT NOT NULL,
    placement          TEXT NOT NULL,
    day                BIGINT NOT NULL,
    views              BIGINT NOT NULL DEFAULT 0,
    likes              BIGINT NOT NULL DEFAULT 0,
    comments           BIGINT NOT NULL DEFAULT 0,
    shares             BIGINT NOT NULL DEFAULT 0,
    saves              BIGINT NOT NULL DEFAULT 0,
    clicks_human       BIGINT NOT NULL DEFAULT 0,
    clicks_bot         BIGINT NOT NULL DEFAULT 0,
    clicks_unique      BIGINT NOT NULL DEFAULT 0,
    conversions        BIGINT NOT NULL DEFAULT 0,   -- attributed orders that count (not cancelled, not fully refunded)
    redemptions        BIGINT NOT NULL DEFAULT 0,   -- of which by discount code
    other_currency     BIGINT NOT NULL DEFAULT 0,   -- of which in another currency (no revenue: no FX)
    revenue            BIGINT NOT NULL DEFAULT 0,   -- attributed net revenue in the campaign's currency
    refunded           BIGINT NOT NULL DEFAULT 0,
    earn_interactions  BIGINT NOT NULL DEFAULT 0,   -- creator earnings (net of fee, less clawbacks), by model
    earn_commission    BIGINT NOT NULL DEFAULT 0,
    earn_cpa           BIGINT NOT NULL DEFAULT 0,
    earn_flat_fee      BIGINT NOT NULL DEFAULT 0,
    fees               BIGINT NOT NULL DEFAULT 0,   -- platform fees on them
    ad_spend           BIGINT NOT NULL DEFAULT 0,
    ad_impressions     BIGINT NOT NULL DEFAULT 0,
    ad_clicks          BIGINT NOT NULL DEFAULT 0,
    ad_purchases       BIGINT NOT NULL DEFAULT 0,
    ad_revenue         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, creator_id, placement, day)
);

-- Whitelisted ads and dark posts: an ad of a creator's content, one variant
-- to one audience segment, with its own tracked link (placement = the
-- link's placement name).
CREATE TABLE ad_placements (
    id           TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    creator_id   TEXT NOT NULL REFERENCES creators (id),
    platform     TEXT NOT NULL CHECK (platform IN ('meta', 'tiktok')),
    kind         TEXT NOT NULL CHECK (kind IN ('whitelisted', 'dark_post')),
    ad_id        TEXT NOT NULL,
    variant      TEXT NOT NULL,
    segment      TEXT NOT NULL,
    placement    TEXT NOT NULL,
    link_id      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (campaign_id, platform, ad_id),
    UNIQUE (campaign_id, placement)
);

-- Imported daily results of an ad, as the platform (or the CSV) gave them.
-- A re-import of a day replaces its row (and the rollup moves by the
-- difference).
CREATE TABLE ad_results (
    placement_id    TEXT NOT NULL REFERENCES ad_placements (id),
    day             BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    spend           BIGINT NOT NULL,
    impressions     BIGINT NOT NULL,
    clicks          BIGINT NOT NULL,
    purchases       BIGINT NOT NULL,
    purchase_value  BIGINT NOT NULL,
    source          TEXT NOT NULL,
    imported_at     BIGINT NOT NULL,
    PRIMARY KEY (placement_id, day)
);

-- Collaborations the optimize loop changed: a creator's own cap (doubled
-- for "scale"), an end ("cut": no new accruals) and the start of the window
-- the next ranking judges them on ("refresh").
CREATE TABLE collaborations (
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id),
    creator_id    TEXT NOT NULL REFERENCES creators (id),
    cap           BIGINT NOT NULL DEFAULT 0,
    ended_at      BIGINT NOT NULL DEFAULT 0,
    window_start  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, creator_id)
);

-- Rankings proposed by the optimize loop and, once the brand confirmed,
-- applied. plan is the JSON of the ranking. auto marks the plan the job
-- queue made when the campaign reached its 14- or 30-day mark: one each.
CREATE TABLE optimize_plans (
    id           TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    mark         TEXT NOT NULL,
    plan         TEXT NOT NULL,
    auto         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL,
    applied_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX optimize_plans_campaign ON optimize_plans (campaign_id, id);
CREATE UNIQUE INDEX optimize_plans_auto ON optimize_plans (campaign_id, mark) WHERE auto;

-- The campaign's operating cost (agency, tooling…), counted in spend.
ALTER TABLE campaigns ADD COLUMN operating_cost BIGINT NOT NULL DEFAULT 0;

-- Backfill what happened before rollups existed: clicks per link and day,
-- earnings by kind and fees per creator and day, less what clawbacks took
-- (voided ones returned their money), conversions, and engagement counts (each post's high-water marks, on
-- the day of its creator's last read in the campaign).
INSERT INTO rollups (campaign_id, creator_id, placement, day, clicks_human, clicks_bot, clicks_unique)
SELECT l.campaign_id, l.creator_id, l.placement, c.at / 86400000000,
    SUM(CASE WHEN c.bot THEN 0 ELSE 1 END), SUM(CASE WHEN c.bot THEN 1 ELSE 0 END), SUM(CASE WHEN c.is_unique THEN 1 ELSE 0 END)
FROM clicks c JOIN links l ON l.id = c.link_id
GROUP BY l.campaign_id, l.creator_id, l.placement, c.at / 86400000000;

INSERT INTO rollups (campaign_id, creator_id, placement, day, earn_interactions, earn_commission, earn_cpa, earn_flat_fee, fees)
SELECT campaign_id, creator_id, '', accrued_at / 86400000000,
    SUM(CASE WHEN kind = 'interactions' THEN net - clawed_net ELSE 0 END),
    SUM(CASE WHEN kind = 'commission' THEN net - clawed_net ELSE 0 END),
    SUM(CASE WHEN kind = 'cpa' THEN net - clawed_net ELSE 0 END),
    SUM(CASE WHEN kind = 'flat_fee' THEN net - clawed_net ELSE 0 END),
    SUM(fee - (clawed_gross - clawed_net))
FROM earnings WHERE state <> 'voided'
GROUP BY campaign_id, creator_id, accrued_at / 86400000000
ON CONFLICT (campaign_id, creator_id, placement, day) DO UPDATE SET earn_interactions = excluded.earn_interactions,
    earn_commission = excluded.earn_commission, earn_cpa = excluded.earn_cpa, earn_flat_fee = excluded.earn_flat_fee, fees = excluded.fees;

-- Conversions recorded before (0013) count on their order's day, under the
-- placement of their link ('' for code sales).
INSERT INTO rollups (campaign_id, creator_id, placement, day, conversions, redemptions, other_currency, revenue, refunded)
SELECT v.campaign_id, v.creator_id, COALESCE(l.placement, ''), v.placed_at / 86400000000,
    SUM(CASE WHEN v.amount > v.refunded AND v.status NOT IN ('voided', 'cancelled', 'failed', 'trash', 'refunded') THEN 1 ELSE 0 END),
    SUM(CASE WHEN v.amount > v.refunded AND v.status NOT IN ('voided', 'cancelled', 'failed', 'trash', 'refunded') AND v.method = 'code' THEN 1 ELSE 0 END),
    SUM(CASE WHEN v.amount > v.refunded AND v.status NOT IN ('voided', 'cancelled', 'failed', 'trash', 'refunded') AND v.currency <> m.currency THEN 1 ELSE 0 END),
    SUM(CASE WHEN v.amount > v.refunded AND v.status NOT IN ('voided', 'cancelled', 'failed', 'trash', 'refunded') AND v.currency = m.currency
        THEN v.amount - v.refunded ELSE 0 END),
    SUM(CASE WHEN v.currency = m.currency THEN v.refunded ELSE 0 END)
FROM conversions v JOIN campaigns m ON m.id = v.campaign_id LEFT JOIN links l ON l.id = v.link_id
GROUP BY v.campaign_id, v.creator_id, COALESCE(l.placement, ''), v.placed_at / 86400000000
ON CONFLICT (campaign_id, creator_id, placement, day) DO UPDATE SET conversions = excluded.conversions,
    redemptions = excluded.redemptions, other_currency = excluded.other_currency, revenue = excluded.revenue, refunded = excluded.refunded;

INSERT INTO rollups (campaign_id, creator_id, placement, day, views, likes, comments, shares, saves)
SELECT p.campaign_id, p.creator_id, '', MAX(m.last_polled_at) / 86400000000,
    SUM(m.hwm_views), SUM(m.hwm_likes), SUM(m.hwm_comments), SUM(m.hwm_shares), SUM(m.hwm_saves)
FROM post_marks m JOIN posts p ON p.id = m.post_id
WHERE m.last_polled_at > 0
GROUP BY p.campaign_id, p.creator_id
ON CONFLICT (campaign_id, creator_id, placement, day) DO UPDATE SET views = excluded.views, likes = excluded.likes,
    comments = excluded.comments, shares = excluded.shares, saves = excluded.saves;
