-- A leaner journal for the hot write path (see docs/benchmarks.md,
-- "payper bench ledger"); the PostgreSQL twin of this migration is
-- 0010_ledger_lean.postgres.sql.
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
--
-- For rows whose own columns determine the replay result (accruals), result
-- is '' and flags holds what the columns do not: 1 = escrow exhausted,
-- 2 = cap reached.
--
-- Tenants' listings walk the primary key (time-ordered ids) newest first and
-- filter: the (brand_id, id) and (creator_id, id) indexes are gone. The table
-- is rebuilt WITHOUT ROWID, so its rows live in the primary key's B-tree
-- rather than in a rowid table beside it: one B-tree fewer per row.
CREATE TABLE ledger_transactions_lean (
    id             TEXT PRIMARY KEY,
    idem_key       TEXT NOT NULL UNIQUE,
    request_hash   TEXT NOT NULL,
    kind           TEXT NOT NULL,
    campaign_id    TEXT NOT NULL DEFAULT '',
    brand_id       TEXT NOT NULL DEFAULT '',
    creator_id     TEXT NOT NULL DEFAULT '',
    result         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    currency       TEXT NOT NULL DEFAULT '',
    escrow_amount  BIGINT,
    held_amount    BIGINT,
    fee_amount     BIGINT,
    flags          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO ledger_transactions_lean (id, idem_key, request_hash, kind, campaign_id, brand_id, creator_id, result, created_at)
    SELECT id, idem_key, request_hash, kind, campaign_id, brand_id, creator_id, result, created_at FROM ledger_transactions;
DROP TABLE ledger_transactions;
ALTER TABLE ledger_transactions_lean RENAME TO ledger_transactions;

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
