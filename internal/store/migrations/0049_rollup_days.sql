-- The campaign's rollups summed by UTC day (internal/rollup): one row per
-- (campaign, day) with the same counters as rollups, added to by the same
-- flush, in the same transaction, as the per-creator rows it sums. The
-- dashboard's daily series (report.Series) and its escrow spent to date
-- read these (at most one row per day of the campaign) instead of summing
-- every creator's and placement's rows of the campaign's whole history.
CREATE TABLE rollup_days (
    campaign_id        TEXT NOT NULL,
    day                BIGINT NOT NULL,
    views              BIGINT NOT NULL DEFAULT 0,
    likes              BIGINT NOT NULL DEFAULT 0,
    comments           BIGINT NOT NULL DEFAULT 0,
    shares             BIGINT NOT NULL DEFAULT 0,
    saves              BIGINT NOT NULL DEFAULT 0,
    clicks_human       BIGINT NOT NULL DEFAULT 0,
    clicks_bot         BIGINT NOT NULL DEFAULT 0,
    clicks_unique      BIGINT NOT NULL DEFAULT 0,
    conversions        BIGINT NOT NULL DEFAULT 0,
    redemptions        BIGINT NOT NULL DEFAULT 0,
    other_currency     BIGINT NOT NULL DEFAULT 0,
    revenue            BIGINT NOT NULL DEFAULT 0,
    refunded           BIGINT NOT NULL DEFAULT 0,
    earn_interactions  BIGINT NOT NULL DEFAULT 0,
    earn_commission    BIGINT NOT NULL DEFAULT 0,
    earn_cpa           BIGINT NOT NULL DEFAULT 0,
    earn_flat_fee      BIGINT NOT NULL DEFAULT 0,
    fees               BIGINT NOT NULL DEFAULT 0,
    ad_spend           BIGINT NOT NULL DEFAULT 0,
    ad_impressions     BIGINT NOT NULL DEFAULT 0,
    ad_clicks          BIGINT NOT NULL DEFAULT 0,
    ad_purchases       BIGINT NOT NULL DEFAULT 0,
    ad_revenue         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, day)
);

INSERT INTO rollup_days (campaign_id, day, views, likes, comments, shares, saves, clicks_human, clicks_bot, clicks_unique,
    conversions, redemptions, other_currency, revenue, refunded, earn_interactions, earn_commission, earn_cpa, earn_flat_fee,
    fees, ad_spend, ad_impressions, ad_clicks, ad_purchases, ad_revenue)
SELECT campaign_id, day, SUM(views), SUM(likes), SUM(comments), SUM(shares), SUM(saves), SUM(clicks_human), SUM(clicks_bot),
    SUM(clicks_unique), SUM(conversions), SUM(redemptions), SUM(other_currency), SUM(revenue), SUM(refunded),
    SUM(earn_interactions), SUM(earn_commission), SUM(earn_cpa), SUM(earn_flat_fee), SUM(fees), SUM(ad_spend),
    SUM(ad_impressions), SUM(ad_clicks), SUM(ad_purchases), SUM(ad_revenue)
FROM rollups GROUP BY campaign_id, day;
