-- Order intake (internal/orders): the brand's connected stores, the webhook
-- deliveries they sent, and the orders and refunds those deliveries and the
-- conversion API carried. Times are BIGINT unix microseconds (UTC); amounts
-- are BIGINT micro-units with their currency.

-- A brand's Shopify shop or WooCommerce site. webhook_secret verifies the
-- deliveries' HMAC signatures; it is stored as given (encryption at rest is
-- a later issue).
CREATE TABLE stores (
    id              TEXT PRIMARY KEY,
    brand_id        TEXT NOT NULL REFERENCES brands (id),
    platform        TEXT NOT NULL CHECK (platform IN ('shopify', 'woocommerce')),
    shop            TEXT NOT NULL,
    webhook_secret  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (brand_id, platform, shop)
);

-- One row per accepted (signed) webhook delivery: the primary key is the
-- deduplication. outcome says what the delivery did.
CREATE TABLE webhook_deliveries (
    store_id     TEXT NOT NULL REFERENCES stores (id),
    delivery_id  TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    outcome      TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    PRIMARY KEY (store_id, delivery_id)
);

-- Orders: channel is the store id for webhook orders and 'api' for the
-- conversion API; (brand, channel, external id) makes intake idempotent.
-- discount_codes is a JSON array of strings. request_hash is the conversion
-- API request's SHA-256 (replays must match it); '' for webhooks.
CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    brand_id        TEXT NOT NULL REFERENCES brands (id),
    channel         TEXT NOT NULL,
    source          TEXT NOT NULL CHECK (source IN ('shopify', 'woocommerce', 'api')),
    external_id     TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    discount_codes  TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    click_id        TEXT NOT NULL,
    status          TEXT NOT NULL,
    placed_at       BIGINT NOT NULL,
    received_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    request_hash    TEXT NOT NULL,
    UNIQUE (brand_id, channel, external_id)
);
CREATE INDEX orders_brand ON orders (brand_id, id);

-- Refunds of an order, each once.
CREATE TABLE order_refunds (
    order_id     TEXT NOT NULL REFERENCES orders (id),
    refund_id    TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (order_id, refund_id)
);
