-- What a provider says about a creator's account there (issue 14, item 6):
-- Stripe's account.updated (onboarding finished, restricted) and a
-- connected account's payout.failed, shown to the creator with their
-- payout destinations.
--
-- account_key: hex SHA-256 of "<provider>:<account id>" (the destination
-- itself stays sealed): how an event naming the account finds its creator.
-- '' for a destination whose provider sends no account events, or one
-- stored before this migration until an event looks for it.
-- status: ready | onboarding | restricted, '' when nothing was heard;
-- status_reason why it is not ready; status_at when the provider said so
-- (unix µs; an older event than that is ignored). payout_failure: the last
-- failed payout out of the account's own balance to the creator's bank
-- (the money is in their provider balance: payper's ledger is untouched),
-- payout_failure_at when it happened.
ALTER TABLE payout_destinations ADD COLUMN account_key TEXT NOT NULL DEFAULT '';
ALTER TABLE payout_destinations ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE payout_destinations ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE payout_destinations ADD COLUMN status_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payout_destinations ADD COLUMN payout_failure TEXT NOT NULL DEFAULT '';
ALTER TABLE payout_destinations ADD COLUMN payout_failure_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX payout_destinations_account ON payout_destinations (provider, account_key);
