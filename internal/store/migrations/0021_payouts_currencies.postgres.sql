-- Payouts in every currency money supports (issue 13, item 7): a GBP, CHF,
-- SEK… campaign's earnings could be released but not paid out. The check
-- lists money's supported currencies (internal/money). The SQLite twin of
-- this migration is 0021_payouts_currencies.sqlite.sql.
--
-- payouts_hold finds the payout of a ledger hold: an idempotent payout
-- request (Idempotency-Key) that the ledger replays answers with the payout
-- its hold was made for.
ALTER TABLE payouts DROP CONSTRAINT payouts_currency_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_currency_check
    CHECK (currency IN ('EUR', 'USD', 'GBP', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'CAD', 'AUD'));
CREATE INDEX payouts_hold ON payouts (hold_id);
