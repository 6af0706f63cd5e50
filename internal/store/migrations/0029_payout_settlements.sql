-- The operator settling a payout stuck in processing (issue 14): a payout
-- of a provider whose transfer's fate is unknown after its retries, or that
-- waited longer than payout.Config.SettleAfter for the provider's webhook,
-- marked paid (hold posted) or failed (hold voided) by hand, with why and
-- by which key (operator_key: '' for the bootstrap token). One per payout.
CREATE TABLE payout_settlements (
    payout_id     TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    provider_ref  TEXT NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    operator_key  TEXT NOT NULL,
    settled_at    BIGINT NOT NULL
);
