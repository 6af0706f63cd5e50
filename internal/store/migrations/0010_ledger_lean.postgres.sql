-- A leaner journal for the hot write path (see docs/benchmarks.md,
-- "payper bench ledger"); the SQLite twin of this migration is
-- 0010_ledger_lean.sqlite.sql.
--
-- An accrual keeps its three entries in its own ledger_transactions row
-- instead of as three ledger_entries rows: escrow_amount on the account
-- 'escrow:' || campaign_id (a debit), held_amount on
-- 'held:' || campaign_id || ':' || creator_id and fee_amount on
-- 'fees:' || campaign_id (credits), in currency; NULL where the entry would
-- be zero. The row's campaign and creator name the accounts, so they are
-- not stored again. Other kinds, and accruals recorded before this
-- migration, keep their entries in ledger_entries; the view
-- ledger_all_entries shows all entries as one table.
ALTER TABLE ledger_transactions ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger_transactions ADD COLUMN escrow_amount BIGINT;
ALTER TABLE ledger_transactions ADD COLUMN held_amount BIGINT;
ALTER TABLE ledger_transactions ADD COLUMN fee_amount BIGINT;
-- For rows whose own columns determine the replay result (accruals), result
-- is '' and flags holds what the columns do not: 1 = escrow exhausted,
-- 2 = cap reached.
ALTER TABLE ledger_transactions ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;

-- Tenants' listings walk the primary key (time-ordered ids) newest first and
-- filter; two more indexes on the hottest table cost more than they saved.
DROP INDEX ledger_transactions_brand;
DROP INDEX ledger_transactions_creator;

CREATE VIEW ledger_all_entries AS
    SELECT tx_id, seq, account_id, currency, amount FROM ledger_entries
    UNION ALL
    SELECT id, 0, 'escrow:' || campaign_id, currency, escrow_amount FROM ledger_transactions
        WHERE kind = 'accrue' AND escrow_amount IS NOT NULL
    UNION ALL
    SELECT id, 1, 'held:' || campaign_id || ':' || creator_id, currency, held_amount FROM ledger_transactions
        WHERE kind = 'accrue' AND held_amount IS NOT NULL
    UNION ALL
    SELECT id, 2, 'fees:' || campaign_id, currency, fee_amount FROM ledger_transactions
        WHERE kind = 'accrue' AND fee_amount IS NOT NULL;
