-- The web wizard's working copy of a campaign's setup (issue 15, item 5):
-- the steps a brand filled in so far, each checked on its own, as JSON
-- {"setup": <campaign.Setup>, "steps": [...]}; '' when there is none.
-- Configure stores the whole setup and clears it.
ALTER TABLE campaigns ADD COLUMN setup_draft TEXT NOT NULL DEFAULT '';
