-- A leaner journal for the hot write path (see docs/benchmarks.md,
-- "payper bench ledger"); the PostgreSQL twin of this migration is
-- 0010_ledger_lean.postgres.sql.
--
-- An accrual's entries (escrow debit, creator held credit, fee credit) are
-- kept inline in its ledger_transactions row, in three (account, amount)
-- slots in that order, instead of as three ledger_entries rows; a slot is
-- NULL where the entry's amount would be zero. Other kinds keep writing
-- ledger_entries. ledger_all_entries shows both as one table of entries.
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
    id            TEXT PRIMARY KEY,
    idem_key      TEXT NOT NULL UNIQUE,
    request_hash  TEXT NOT NULL,
    kind          TEXT NOT NULL,
    campaign_id   TEXT NOT NULL DEFAULT '',
    brand_id      TEXT NOT NULL DEFAULT '',
    creator_id    TEXT NOT NULL DEFAULT '',
    result        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    currency      TEXT NOT NULL DEFAULT '',
    e1_account    TEXT,
    e1_amount     BIGINT,
    e2_account    TEXT,
    e2_amount     BIGINT,
    e3_account    TEXT,
    e3_amount     BIGINT,
    flags         INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO ledger_transactions_lean (id, idem_key, request_hash, kind, campaign_id, brand_id, creator_id, result, created_at)
    SELECT id, idem_key, request_hash, kind, campaign_id, brand_id, creator_id, result, created_at FROM ledger_transactions;
DROP TABLE ledger_transactions;
ALTER TABLE ledger_transactions_lean RENAME TO ledger_transactions;

CREATE VIEW ledger_all_entries AS
    SELECT tx_id, seq, account_id, currency, amount FROM ledger_entries
    UNION ALL
    SELECT id, 0, e1_account, currency, e1_amount FROM ledger_transactions WHERE e1_account IS NOT NULL
    UNION ALL
    SELECT id, 1, e2_account, currency, e2_amount FROM ledger_transactions WHERE e2_account IS NOT NULL
    UNION ALL
    SELECT id, 2, e3_account, currency, e3_amount FROM ledger_transactions WHERE e3_account IS NOT NULL;
