-- Attribution (internal/attrib): creators' discount codes, conversions
-- (orders attributed to a creator in a campaign) and what they paid.
-- Times are BIGINT unix microseconds (UTC); amounts BIGINT micro-units.

-- One discount code per (campaign, creator). code_key is the code in upper
-- case: codes are matched case-insensitively, and no two codes of a brand
-- share a key. source says where the code lives: shopify or woocommerce (made
-- in the brand's store through its API; external_id is the store's id),
-- sandbox (the built-in sandbox store) or manual (entered by hand).
CREATE TABLE discount_codes (
    id           TEXT PRIMARY KEY,
    brand_id     TEXT NOT NULL REFERENCES brands (id),
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    creator_id   TEXT NOT NULL REFERENCES creators (id),
    code         TEXT NOT NULL,
    code_key     TEXT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('shopify', 'woocommerce', 'sandbox', 'manual')),
    store_id     TEXT NOT NULL DEFAULT '',
    external_id  TEXT NOT NULL DEFAULT '',
    percent_bps  BIGINT NOT NULL DEFAULT 0,
    amount_off   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    UNIQUE (brand_id, code_key),
    UNIQUE (campaign_id, creator_id)
);

-- An order attributed to a creator in a campaign: method code (a creator's
-- discount code was used) or click (a click on a creator's link within the
-- campaign's window). amount and currency are the order's own; refunded is
-- what was refunded of it. commission_asked and cpa_asked are what the
-- attribution last asked the ledger for (the paid amounts are the
-- conversion's earnings); note explains a payment not made (e.g.
-- currency_mismatch).
CREATE TABLE conversions (
    order_id          TEXT PRIMARY KEY REFERENCES orders (id),
    brand_id          TEXT NOT NULL REFERENCES brands (id),
    campaign_id       TEXT NOT NULL REFERENCES campaigns (id),
    creator_id        TEXT NOT NULL REFERENCES creators (id),
    method            TEXT NOT NULL CHECK (method IN ('code', 'click')),
    code              TEXT NOT NULL DEFAULT '',
    click_id          TEXT NOT NULL DEFAULT '',
    link_id           TEXT NOT NULL DEFAULT '',
    clicked_at        BIGINT NOT NULL DEFAULT 0,
    amount            BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    refunded          BIGINT NOT NULL DEFAULT 0,
    status            TEXT NOT NULL,
    placed_at         BIGINT NOT NULL,
    commission_asked  BIGINT NOT NULL DEFAULT 0,
    cpa_asked         BIGINT NOT NULL DEFAULT 0,
    note              TEXT NOT NULL DEFAULT '',
    revision          BIGINT NOT NULL DEFAULT 0,   -- counts payment changes; part of their ledger keys
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX conversions_campaign ON conversions (campaign_id, creator_id, placed_at);

-- Attribution finds a customer's earlier click ids through their earlier
-- orders. (A click is found from its id through clicks_link: the id holds
-- the link's slug and the click's millisecond, so clicks need no index of
-- their own, which every click would pay for.)
CREATE INDEX orders_customer ON orders (brand_id, customer_id, placed_at);

-- Earnings now come from engagement (kind interactions) and from sales and
-- acceptance (commission, cpa, flat_fee); source_id is the order (or the
-- application) paid for. clawed_gross and clawed_net are what refunds took
-- back of the earning after it was made.
ALTER TABLE earnings ADD COLUMN kind TEXT NOT NULL DEFAULT 'interactions';
ALTER TABLE earnings ADD COLUMN source_id TEXT NOT NULL DEFAULT '';
ALTER TABLE earnings ADD COLUMN clawed_gross BIGINT NOT NULL DEFAULT 0;
ALTER TABLE earnings ADD COLUMN clawed_net BIGINT NOT NULL DEFAULT 0;
CREATE INDEX earnings_source ON earnings (source_id, kind);

-- Stores: credentials is the sealed (AES-GCM) JSON of the store's API
-- credentials, '' when none were given; webhook_secret is now sealed too
-- when an encryption key is configured (a value starting "v1."). sandbox
-- marks a store served by payper's own sandbox.
ALTER TABLE stores ADD COLUMN credentials TEXT NOT NULL DEFAULT '';
ALTER TABLE stores ADD COLUMN sandbox BOOLEAN NOT NULL DEFAULT FALSE;
