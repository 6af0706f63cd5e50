-- The sandbox's counters change all the time (the demo and the benchmarks
-- grow every post each round). With full pages each change put the row's
-- new version on another page, with new entries in all three of its
-- indexes, and the counts endpoint's lookups by id then waded through the
-- dead ones. Room on each page lets the new version stay beside the old
-- (a HOT update: no index entries), and the old one is pruned.
ALTER TABLE sandbox_posts SET (fillfactor = 50);
