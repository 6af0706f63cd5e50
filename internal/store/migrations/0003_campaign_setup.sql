-- A campaign's pay-per-interaction setup (goal, brief, prices, caps, dates,
-- eligibility) as the JSON form of campaign.Setup; '' until configured.
ALTER TABLE campaigns ADD COLUMN setup TEXT NOT NULL DEFAULT '';
