-- A leaner journal for the hot write path (see docs/benchmarks.md,
-- "payper bench ledger"); the SQLite twin of this migration is
-- 0010_ledger_lean.sqlite.sql.
--
-- An accrual's entries (escrow debit, creator held credit, fee credit) are
-- kept inline in its ledger_transactions row, in three (account, amount)
-- slots in that order, instead of as three ledger_entries rows; a slot is
-- NULL where the entry's amount would be zero. Other kinds keep writing
-- ledger_entries. ledger_all_entries shows both as one table of entries.
ALTER TABLE ledger_transactions ADD COLUMN currency TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger_transactions ADD COLUMN e1_account TEXT;
ALTER TABLE ledger_transactions ADD COLUMN e1_amount BIGINT;
ALTER TABLE ledger_transactions ADD COLUMN e2_account TEXT;
ALTER TABLE ledger_transactions ADD COLUMN e2_amount BIGINT;
ALTER TABLE ledger_transactions ADD COLUMN e3_account TEXT;
ALTER TABLE ledger_transactions ADD COLUMN e3_amount BIGINT;
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
    SELECT id, 0, e1_account, currency, e1_amount FROM ledger_transactions WHERE e1_account IS NOT NULL
    UNION ALL
    SELECT id, 1, e2_account, currency, e2_amount FROM ledger_transactions WHERE e2_account IS NOT NULL
    UNION ALL
    SELECT id, 2, e3_account, currency, e3_amount FROM ledger_transactions WHERE e3_account IS NOT NULL;
