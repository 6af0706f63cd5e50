-- The sandbox social network (internal/platform/sandbox): simulated accounts,
-- posts and their counters, and its OAuth server's codes and tokens. Only
-- internal/platform/sandbox reads or writes these tables. Times are BIGINT
-- unix microseconds (UTC); 0 means "never".

-- followers is NULL while the account hides its follower count.
CREATE TABLE sandbox_accounts (
    id          TEXT PRIMARY KEY,
    handle      TEXT NOT NULL UNIQUE,
    followers   BIGINT CHECK (followers >= 0),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Cumulative counters; NULL means the network does not report that metric
-- for the post (unknown, not zero). A deleted post keeps its row.
CREATE TABLE sandbox_posts (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES sandbox_accounts (id),
    shortcode     TEXT NOT NULL UNIQUE,
    permalink     TEXT NOT NULL,
    caption       TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL,
    published_at  BIGINT NOT NULL,
    views         BIGINT CHECK (views >= 0),
    likes         BIGINT CHECK (likes >= 0),
    comments      BIGINT CHECK (comments >= 0),
    shares        BIGINT CHECK (shares >= 0),
    saves         BIGINT CHECK (saves >= 0),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    deleted_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sandbox_posts_account ON sandbox_posts (account_id, published_at);

-- Authorization codes, stored as the SHA-256 of the code. Each code starts a
-- grant; the tokens of that grant share its grant_id, so a replayed code or
-- refresh token can revoke the whole family.
CREATE TABLE sandbox_oauth_codes (
    hash            TEXT PRIMARY KEY,
    grant_id        TEXT NOT NULL,
    account_id      TEXT NOT NULL REFERENCES sandbox_accounts (id),
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);

-- Access and refresh tokens, stored as the SHA-256 of the token. A refresh
-- token is used once (used_at) and replaced by a new one.
CREATE TABLE sandbox_oauth_tokens (
    hash        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id    TEXT NOT NULL,
    account_id  TEXT NOT NULL REFERENCES sandbox_accounts (id),
    client_id   TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT NOT NULL DEFAULT 0,
    revoked_at  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);
CREATE INDEX sandbox_oauth_tokens_account ON sandbox_oauth_tokens (account_id, kind);
CREATE INDEX sandbox_oauth_tokens_grant ON sandbox_oauth_tokens (grant_id);

-- The rate-limit switch: the API answers 429 until limited_until for one account
-- (scope = its id) or for everyone (scope = '').
CREATE TABLE sandbox_rate_limits (
    scope          TEXT PRIMARY KEY,
    limited_until  BIGINT NOT NULL,
    reason         TEXT NOT NULL DEFAULT ''
);
