-- payper schema, version 1. Written once for both SQLite and PostgreSQL:
-- times are BIGINT unix microseconds (UTC), money is BIGINT micro-units.

CREATE TABLE brands (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE creators (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    country     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

-- API keys are stored as the SHA-256 of the secret; the secret is shown once.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'brand', 'creator')),
    subject_id  TEXT NOT NULL DEFAULT '',
    label       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    brand_id    TEXT NOT NULL REFERENCES brands (id),
    name        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    budget      BIGINT NOT NULL CHECK (budget > 0),
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX campaigns_brand ON campaigns (brand_id, id);

-- Payments into escrow, one per provider reference (scoped to the brand, so
-- one brand's references never collide with another's).
CREATE TABLE payments (
    id            TEXT PRIMARY KEY,
    brand_id      TEXT NOT NULL REFERENCES brands (id),
    campaign_id   TEXT NOT NULL REFERENCES campaigns (id),
    provider      TEXT NOT NULL,
    external_ref  TEXT NOT NULL,
    amount        BIGINT NOT NULL CHECK (amount > 0),
    currency      TEXT NOT NULL,
    status        TEXT NOT NULL,
    ledger_tx_id  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (provider, brand_id, external_ref)
);

-- Ledger. Only internal/ledger writes these tables.

-- posted = credits - debits of posted entries; pending_out / pending_in = open
-- holds debiting / crediting the account. A bounded account can never spend
-- more than it holds: the CHECK is a last line of defence behind the code.
CREATE TABLE ledger_accounts (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    currency     TEXT NOT NULL,
    owner_id     TEXT NOT NULL DEFAULT '',
    campaign_id  TEXT NOT NULL DEFAULT '',
    bounded      BOOLEAN NOT NULL,
    posted       BIGINT NOT NULL DEFAULT 0,
    pending_out  BIGINT NOT NULL DEFAULT 0 CHECK (pending_out >= 0),
    pending_in   BIGINT NOT NULL DEFAULT 0 CHECK (pending_in >= 0),
    created_at   BIGINT NOT NULL,
    CHECK (NOT bounded OR posted - pending_out >= 0)
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_id);

-- One row per ledger write, keyed by its idempotency key. result is the JSON
-- returned to the caller, and returned again on a replay.
CREATE TABLE ledger_transactions (
    id            TEXT PRIMARY KEY,
    idem_key      TEXT NOT NULL UNIQUE,
    request_hash  TEXT NOT NULL,
    kind          TEXT NOT NULL,
    campaign_id   TEXT NOT NULL DEFAULT '',
    brand_id      TEXT NOT NULL DEFAULT '',
    creator_id    TEXT NOT NULL DEFAULT '',
    result        TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX ledger_transactions_brand ON ledger_transactions (brand_id, id);
CREATE INDEX ledger_transactions_creator ON ledger_transactions (creator_id, id);

-- Append-only. amount > 0 credits the account, < 0 debits it; a
-- transaction's entries sum to zero per currency. Only the primary key is
-- indexed: balances live on ledger_accounts, so the hot write path pays for
-- one index (see docs/benchmarks.md); account history is read by tx_id.
CREATE TABLE ledger_entries (
    tx_id       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    account_id  TEXT NOT NULL,
    currency    TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    PRIMARY KEY (tx_id, seq)
);

-- Two-phase transfers: pending, then posted (wholly or partly), voided or expired.
CREATE TABLE ledger_holds (
    id              TEXT PRIMARY KEY,
    tx_id           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    debit_account   TEXT NOT NULL,
    credit_account  TEXT NOT NULL,
    currency        TEXT NOT NULL,
    owner_id        TEXT NOT NULL DEFAULT '',
    amount          BIGINT NOT NULL CHECK (amount > 0),
    posted_amount   BIGINT NOT NULL DEFAULT 0,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'voided', 'expired')),
    expires_at      BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    resolved_at     BIGINT NOT NULL DEFAULT 0,
    CHECK (posted_amount >= 0 AND posted_amount <= amount)
);
CREATE INDEX ledger_holds_pending ON ledger_holds (state, expires_at);
CREATE INDEX ledger_holds_owner ON ledger_holds (owner_id, currency);

-- The money state of each campaign's escrow. spent is gross (creator share +
-- fee) net of clawbacks; fees = floor(spent * fee_bps / 10000) always.
CREATE TABLE ledger_escrows (
    campaign_id  TEXT PRIMARY KEY,
    brand_id     TEXT NOT NULL,
    currency     TEXT NOT NULL,
    fee_bps      BIGINT NOT NULL,
    reduced_fee  BOOLEAN NOT NULL,
    funded       BIGINT NOT NULL DEFAULT 0,
    spent        BIGINT NOT NULL DEFAULT 0,
    fees         BIGINT NOT NULL DEFAULT 0,
    refunded     BIGINT NOT NULL DEFAULT 0,
    closed_at    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);

-- The brand's one reduced-fee campaign; the primary key makes it one.
CREATE TABLE ledger_first_campaigns (
    brand_id     TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL UNIQUE
);

-- Per campaign and creator: gross spent (the per-creator cap applies to it)
-- and the creator's share of it.
CREATE TABLE ledger_campaign_creators (
    campaign_id  TEXT NOT NULL,
    creator_id   TEXT NOT NULL,
    spent        BIGINT NOT NULL DEFAULT 0 CHECK (spent >= 0),
    earned       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, creator_id)
);
