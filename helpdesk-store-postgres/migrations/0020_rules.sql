-- Rules (API-workflow.md, "Rules"): triggers and automations. The record is the
-- library's JSON (`kind`, `active`, `condition`, `actions`, ...), checked when saved;
-- `position` is kept apart for the order.
CREATE TABLE rules (
    id       uuid PRIMARY KEY,
    position bigint NOT NULL CHECK (position >= 0),
    doc      jsonb NOT NULL
);
CREATE INDEX rules_order ON rules (position, id);

-- Each rule's run log (the newest 1,000 kept). Deleting the rule or the ticket
-- forgets its runs.
CREATE TABLE rule_runs (
    id        uuid PRIMARY KEY,
    rule_id   uuid NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    doc       jsonb NOT NULL
);
CREATE INDEX rule_runs_newest ON rule_runs (rule_id, at DESC, id DESC);
CREATE INDEX rule_runs_ticket ON rule_runs (ticket_id);

-- Automations' edge state: the tickets inside each one's condition.
CREATE TABLE rule_inside (
    rule_id   uuid NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, ticket_id)
);
CREATE INDEX rule_inside_ticket ON rule_inside (ticket_id);

-- Rule messages have no sender.
ALTER TABLE messages ALTER COLUMN sender_id DROP NOT NULL;
