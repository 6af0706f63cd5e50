-- Payouts (internal/payout): a creator's withdrawal from their available
-- balance, held in the ledger while the provider sends it; posted when paid,
-- voided (money back to available) when it fails or is canceled.
CREATE TABLE payouts (
    id             TEXT PRIMARY KEY,
    creator_id     TEXT NOT NULL REFERENCES creators (id),
    provider       TEXT NOT NULL CHECK (provider IN ('stripe', 'wise', 'manual')),
    amount         BIGINT NOT NULL CHECK (amount > 0),   -- micro-units, whole cents
    currency       TEXT NOT NULL CHECK (currency IN ('EUR', 'USD')),
    state          TEXT NOT NULL,                        -- requested | processing | paid | failed | canceled
    hold_id        TEXT NOT NULL,
    provider_ref   TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    attempts       BIGINT NOT NULL DEFAULT 0,
    requested_at   BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    resolved_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX payouts_creator ON payouts (creator_id, id);
CREATE INDEX payouts_state ON payouts (state, provider, id);
CREATE INDEX payouts_ref ON payouts (provider, provider_ref);

-- Where a creator's payouts go, per provider: a Stripe connected account id
-- or Wise recipient details, sealed at rest.
CREATE TABLE payout_destinations (
    creator_id   TEXT NOT NULL REFERENCES creators (id),
    provider     TEXT NOT NULL,
    destination  TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (creator_id, provider)
);

-- Provider webhook events seen, so a redelivery does nothing.
CREATE TABLE payout_events (
    provider    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    payout_id   TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
