-- Order intake (internal/orders): a Shopify refunds/create delivery can
-- arrive before the orders/create of its order (Shopify does not order
-- deliveries, and retries a failed one for only 4 hours). Such a refund is
-- kept here, in the shop's money, and moved to order_refunds, inside the
-- transaction that stores the order, when the order arrives. order_ext is
-- the store's own order id.
CREATE TABLE pending_refunds (
    store_id     TEXT NOT NULL REFERENCES stores (id),
    order_ext    TEXT NOT NULL,
    refund_id    TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (store_id, order_ext, refund_id)
);
