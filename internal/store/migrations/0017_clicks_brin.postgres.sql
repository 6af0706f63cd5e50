-- PostgreSQL: clicks are appended in time order and read only by time
-- (attribution finds a click from its id's millisecond and link); link
-- click counts come from the rollups. A BRIN index on at costs an append
-- almost nothing, where the B-tree on (link_id, at) cost every click an
-- insert.
DROP INDEX clicks_link;
CREATE INDEX clicks_at ON clicks USING brin (at);
