-- People who sign in with an email and a password (issue 15, item 1).
-- A user is a brand's owner or member, a creator, or an operator.
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    -- email_key is the lower-cased address: one account per address, whatever its case.
    email_key           TEXT NOT NULL UNIQUE,
    -- argon2id in the PHC string format, parameters and salt included.
    password_hash       TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('brand', 'creator', 'operator')),
    brand_id            TEXT NOT NULL DEFAULT '',
    brand_role          TEXT NOT NULL DEFAULT '',
    creator_id          TEXT NOT NULL DEFAULT '',
    email_verified_at   BIGINT NOT NULL DEFAULT 0,
    password_changed_at BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    CHECK ((kind = 'brand' AND brand_id <> '' AND brand_role IN ('owner', 'member') AND creator_id = '')
        OR (kind = 'creator' AND creator_id <> '' AND brand_id = '' AND brand_role = '')
        OR (kind = 'operator' AND brand_id = '' AND creator_id = '' AND brand_role = ''))
);
CREATE INDEX users_brand ON users (brand_id) WHERE brand_id <> '';
CREATE UNIQUE INDEX users_creator ON users (creator_id) WHERE creator_id <> '';

-- A brand that signed itself up: pending until an operator approves it when
-- the operator requires approval, active otherwise.
CREATE TABLE brand_signups (
    brand_id    TEXT PRIMARY KEY REFERENCES brands (id),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'active', 'rejected')),
    created_at  BIGINT NOT NULL,
    decided_at  BIGINT NOT NULL DEFAULT 0
);

-- Operator settings, one row per name.
CREATE TABLE account_settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Single-use tokens mailed to people: email verification, password reset,
-- invitation. Only the SHA-256 of the token is kept.
CREATE TABLE account_tokens (
    hash        TEXT PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('verify', 'reset', 'invite')),
    user_id     TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    brand_id    TEXT NOT NULL DEFAULT '',
    brand_role  TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, kind) WHERE user_id <> '';
