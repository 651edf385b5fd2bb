-- CSAT surveys (API-workflow.md "CSAT"): one per ticket and resolution cycle, made in
-- the transaction that resolves the ticket, deleted with it. The token is kept only as
-- its SHA-256 (hex); assignee and group are the credited ones, kept as they were (no
-- foreign key: a deleted user or group does not rewrite history).
CREATE TABLE surveys (
    id           uuid PRIMARY KEY,
    ticket_id    uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    cycle        integer NOT NULL CHECK (cycle >= 0),
    assignee_id  uuid,
    group_id     uuid NOT NULL,
    rating       smallint CHECK (rating BETWEEN 1 AND 5),
    comment      text,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    responded_at timestamptz,
    token_hash   text NOT NULL UNIQUE,
    UNIQUE (ticket_id, cycle)
);
CREATE INDEX surveys_created ON surveys (created_at);

-- How many times a ticket entered `resolved`: the cycle of its latest survey.
ALTER TABLE tickets ADD COLUMN resolved_count integer NOT NULL DEFAULT 0
    CHECK (resolved_count >= 0);

-- A notification's CSAT token (`csat_requested`), its recipient's alone.
ALTER TABLE notifications ADD COLUMN csat_token text;
