-- API keys of staff and service accounts (API-access.md, "API keys"). Only a SHA-256
-- of the token is kept. A user's keys go with the user; a demotion to customer deletes
-- them in the same transaction as the role change.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    prefix       text NOT NULL,
    token_hash   text NOT NULL,
    scopes       text[] NOT NULL,
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX api_keys_token_hash ON api_keys (token_hash);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at, id);
