-- Order intake (internal/orders): a signed webhook delivery whose payload
-- payper refuses (a negative total, a refund of nothing, an amount beyond
-- bounds, unreadable JSON) is acknowledged and recorded with outcome
-- 'rejected', so the store does not retry it and disable the webhook;
-- detail holds why, as JSON {"code","message","field"}; '' otherwise.
ALTER TABLE webhook_deliveries ADD COLUMN detail TEXT NOT NULL DEFAULT '';
