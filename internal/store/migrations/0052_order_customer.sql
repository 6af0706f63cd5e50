-- What a store said of an order's customer, for the self-purchase
-- detector (internal/fraud, sales.self_purchase): customer_email as the
-- store sent it (Shopify email/contact_email, WooCommerce billing.email),
-- customer_email_norm the same address as one mailbox (lower case, no
-- +tag, Gmail without dots: fraud.NormalizeEmail), which is what is
-- matched against the creator's account address; customer_visitor the
-- salted hash of the browser address and user agent the order was placed
-- from (Shopify browser_ip and client_details.user_agent, WooCommerce
-- customer_ip_address and customer_user_agent), the same hash as a
-- click's visitor (links.VisitorHash): the address and agent themselves
-- are not kept. Empty when the store did not send them (older orders, the
-- conversion API).
ALTER TABLE orders ADD COLUMN customer_email TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN customer_email_norm TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN customer_visitor TEXT NOT NULL DEFAULT '';
