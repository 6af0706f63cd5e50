-- Payouts in every currency money supports (issue 13, item 7): a GBP, CHF,
-- SEK… campaign's earnings could be released but not paid out. The check
-- lists money's supported currencies (internal/money). SQLite cannot change
-- a CHECK constraint, so the table is rebuilt as 0016 made it, with the new
-- check; the PostgreSQL twin is 0021_payouts_currencies.postgres.sql.
--
-- payouts_hold finds the payout of a ledger hold: an idempotent payout
-- request (Idempotency-Key) that the ledger replays answers with the payout
-- its hold was made for.
CREATE TABLE payouts_new (
    id             TEXT PRIMARY KEY,
    creator_id     TEXT NOT NULL REFERENCES creators (id),
    provider       TEXT NOT NULL CHECK (provider IN ('stripe', 'wise', 'manual')),
    amount         BIGINT NOT NULL CHECK (amount > 0),   -- micro-units, whole cents
    currency       TEXT NOT NULL CHECK (currency IN ('EUR', 'USD', 'GBP', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'CZK', 'CAD', 'AUD')),
    state          TEXT NOT NULL,                        -- requested | processing | paid | failed | canceled
    hold_id        TEXT NOT NULL,
    provider_ref   TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    attempts       BIGINT NOT NULL DEFAULT 0,
    requested_at   BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    resolved_at    BIGINT NOT NULL DEFAULT 0
);
INSERT INTO payouts_new (id, creator_id, provider, amount, currency, state, hold_id, provider_ref, reason, attempts, requested_at, updated_at, resolved_at)
    SELECT id, creator_id, provider, amount, currency, state, hold_id, provider_ref, reason, attempts, requested_at, updated_at, resolved_at FROM payouts;
DROP TABLE payouts;
ALTER TABLE payouts_new RENAME TO payouts;
CREATE INDEX payouts_creator ON payouts (creator_id, id);
CREATE INDEX payouts_state ON payouts (state, provider, id);
CREATE INDEX payouts_ref ON payouts (provider, provider_ref);
CREATE INDEX payouts_hold ON payouts (hold_id);
