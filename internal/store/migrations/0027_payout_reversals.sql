-- Payouts that fail after "paid", and payouts that stop retrying (issue 14,
-- items 4, 5 and 11).
--
-- ledger_holds.reversed_amount: how much of a posted payout hold came back
-- to the creator's available balance (ledger payout_reverse transactions:
-- a Wise transfer bounced_back / funds_refunded after
-- outgoing_payment_sent, a reversed Stripe transfer). The hold stays
-- posted; what was paid out is posted_amount - reversed_amount.
ALTER TABLE ledger_holds ADD COLUMN reversed_amount BIGINT NOT NULL DEFAULT 0;

-- payouts.provider_progress: what the provider made for the payout so far
-- (for Wise: the quote, the recipient and the transfer ids, as JSON),
-- stored as soon as each exists, so a retry reuses them and never makes a
-- second transfer. payouts.next_attempt_at: when a retried payout may be
-- sent again (unix µs; 0 = now), for the capped backoff between attempts.
ALTER TABLE payouts ADD COLUMN provider_progress TEXT NOT NULL DEFAULT '';
ALTER TABLE payouts ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
