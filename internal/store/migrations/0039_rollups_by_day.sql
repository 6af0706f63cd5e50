-- The campaign dashboard's daily series (report.Series, GET
-- /v1/campaigns/{id}/report/series) sums a campaign's rollups by day.
-- Walking this index in day order spares the sort of every row that a
-- GROUP BY day needs otherwise (rollups' key leads with creator and
-- placement). It is on the expression day + 0, which the series' query
-- names and the report's query (day >= … AND day <= …, grouped by creator
-- and placement) does not: SQLite would otherwise take it for the report's
-- day range and then sort every row by creator instead of walking the key.
-- Counters are updated in place; only a row's first event adds an entry.
CREATE INDEX rollups_campaign_day ON rollups (campaign_id, (day + 0));
