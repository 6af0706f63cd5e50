-- Order intake (internal/orders): the tax and the shipping an order's total
-- includes, as the store reports them (Shopify total_tax_set and
-- total_shipping_price_set in shop money; WooCommerce total_tax and
-- shipping_total), in micro-units of the order's currency; 0 when not
-- reported (the conversion API, older orders). Attribution pays commission
-- on the total less both unless the campaign's performance.commission_base
-- is "total" (kept in the campaign's setup JSON).
ALTER TABLE orders ADD COLUMN tax BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN shipping BIGINT NOT NULL DEFAULT 0;
