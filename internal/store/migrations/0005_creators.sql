-- Creators and the marketplace (internal/creator, internal/market). Times are
-- BIGINT unix microseconds (UTC); 0 means "not yet".

-- A creator's profile beyond name and country. niches holds the creator's
-- niche slugs (^[a-z0-9][a-z0-9-]{0,39}$) joined with ',' in the order the
-- creator gave them; '' when none.
ALTER TABLE creators ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE creators ADD COLUMN niches TEXT NOT NULL DEFAULT '';

-- Pending OAuth connect flows, keyed by their unguessable state. A row is
-- deleted when the platform redirects back (used once) or found expired.
CREATE TABLE platform_connections (
    state         TEXT PRIMARY KEY,
    creator_id    TEXT NOT NULL REFERENCES creators (id),
    platform      TEXT NOT NULL,
    verifier      TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX platform_connections_expiry ON platform_connections (expires_at);

-- A creator's connected social accounts. followers and engagement_rate_ppm
-- are read from the platform only, never typed in: followers_known is false
-- (followers then 0) while the platform hides the count, and
-- engagement_rate_ppm is NULL while it is unknown. token is the
-- platform.Token as JSON; it is NOT encrypted at rest yet (a later issue).
-- refresh_lease_owner/refresh_lease_until let one server at a time refresh
-- the token (a rotated refresh token must never be used twice).
CREATE TABLE creator_accounts (
    id                   TEXT PRIMARY KEY,
    creator_id           TEXT NOT NULL REFERENCES creators (id),
    platform             TEXT NOT NULL,
    account_id           TEXT NOT NULL,
    handle               TEXT NOT NULL,
    followers            BIGINT NOT NULL CHECK (followers >= 0),
    followers_known      BOOLEAN NOT NULL,
    engagement_rate_ppm  BIGINT CHECK (engagement_rate_ppm >= 0),
    status               TEXT NOT NULL CHECK (status IN ('connected', 'reconnect_needed', 'disconnected')),
    status_reason        TEXT NOT NULL DEFAULT '',
    token                TEXT NOT NULL,
    refresh_lease_owner  TEXT NOT NULL DEFAULT '',
    refresh_lease_until  BIGINT NOT NULL DEFAULT 0,
    connected_at         BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    UNIQUE (platform, account_id)
);
CREATE INDEX creator_accounts_creator ON creator_accounts (creator_id, platform);
-- A creator has at most one connected account per platform; connecting
-- another one disconnects the first.
CREATE UNIQUE INDEX creator_accounts_one_per_platform ON creator_accounts (creator_id, platform) WHERE status = 'connected';

-- Creators' applications to campaigns: one per creator and campaign.
-- decided_at is 0 until the brand accepts or rejects.
CREATE TABLE applications (
    id           TEXT PRIMARY KEY,
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    creator_id   TEXT NOT NULL REFERENCES creators (id),
    pitch        TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    created_at   BIGINT NOT NULL,
    decided_at   BIGINT NOT NULL DEFAULT 0,
    UNIQUE (campaign_id, creator_id)
);
CREATE INDEX applications_campaign ON applications (campaign_id, state, id);
CREATE INDEX applications_creator ON applications (creator_id, id);
