-- Mailboxes (API-email.md "Mailboxes"): addresses stored lower-cased and unique; one
-- default at most (writes clear the others under an advisory lock, and the partial
-- index guards it). `inbound`, `outbound`, `auto_reply` and `previous_secret` are the
-- library's records as JSON; the IMAP poller's state is `inbound.state`.
CREATE TABLE mailboxes (
    id              uuid PRIMARY KEY,
    address         text NOT NULL CONSTRAINT mailboxes_address UNIQUE,
    name            text NOT NULL,
    group_id        uuid,
    is_default      boolean NOT NULL,
    inbound         jsonb NOT NULL,
    outbound        jsonb NOT NULL,
    auto_reply      jsonb NOT NULL,
    secret          text,
    previous_secret jsonb,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX mailboxes_one_default ON mailboxes ((true)) WHERE is_default;
