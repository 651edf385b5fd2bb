-- Statuses as data (API-workflow.md): each of the five categories has a default status
-- whose key is the category's name (fixed ids, the same in every installation); tickets
-- name their status by key and keep its category (a key's category never changes).
CREATE TABLE ticket_statuses (
    id             uuid PRIMARY KEY,
    key            text NOT NULL,
    category       text NOT NULL
        CHECK (category IN ('open', 'pending', 'on_hold', 'resolved', 'closed')),
    agent_label    text NOT NULL,
    customer_label text NOT NULL,
    position       bigint NOT NULL CHECK (position >= 0),
    active         boolean NOT NULL,
    is_default     boolean NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT ticket_statuses_key UNIQUE (key)
);
INSERT INTO ticket_statuses VALUES
    ('00000000-0000-4000-8000-000000000001', 'open', 'open', 'Open', 'Open', 0, true, true, now(), now()),
    ('00000000-0000-4000-8000-000000000002', 'pending', 'pending', 'Pending', 'Pending', 0, true, true, now(), now()),
    ('00000000-0000-4000-8000-000000000003', 'on_hold', 'on_hold', 'On hold', 'On hold', 0, true, true, now(), now()),
    ('00000000-0000-4000-8000-000000000004', 'resolved', 'resolved', 'Resolved', 'Resolved', 0, true, true, now(), now()),
    ('00000000-0000-4000-8000-000000000005', 'closed', 'closed', 'Closed', 'Closed', 0, true, true, now(), now());

ALTER TABLE tickets DROP CONSTRAINT tickets_status_check;
ALTER TABLE tickets ADD COLUMN status_category text;
UPDATE tickets SET status_category = status;
ALTER TABLE tickets ALTER COLUMN status_category SET NOT NULL;
ALTER TABLE tickets ADD CONSTRAINT tickets_status_category_check
    CHECK (status_category IN ('open', 'pending', 'on_hold', 'resolved', 'closed'));
ALTER TABLE tickets ADD COLUMN status_changed_at timestamptz;
CREATE INDEX tickets_category_created ON tickets (status_category, created_at, id);
CREATE INDEX tickets_category_updated ON tickets (status_category, updated_at, id);
CREATE INDEX tickets_category_priority ON tickets (status_category, priority, id);
