-- Why a campaign reached its state (for completed: budget_exhausted,
-- end_date_reached or ended_by_brand); '' otherwise.
ALTER TABLE campaigns ADD COLUMN state_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX campaigns_state ON campaigns (state, id);
