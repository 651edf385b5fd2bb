-- Groups (queues) of staff. Exactly one group is the default (a partial unique index);
-- names are unique case-insensitively.
CREATE TABLE groups (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL,
    is_default  boolean NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX groups_name ON groups (lower(name));
CREATE UNIQUE INDEX groups_one_default ON groups (is_default) WHERE is_default;

CREATE TABLE group_members (
    group_id   uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id),
    access     text NOT NULL CHECK (access IN ('read', 'reply', 'full')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id, group_id);

-- The default group every installation starts with: it gets every existing ticket, and
-- every agent and admin as a `full` member (joined when their account was created).
INSERT INTO groups (id, name, description, is_default, created_at)
VALUES (gen_random_uuid(), 'Support', '', true, now());

INSERT INTO group_members (group_id, user_id, access, created_at)
SELECT g.id, u.id, 'full', u.created_at
FROM users u CROSS JOIN groups g
WHERE g.is_default AND u.role IN ('agent', 'admin');

ALTER TABLE tickets ADD COLUMN group_id uuid REFERENCES groups (id);
UPDATE tickets SET group_id = (SELECT id FROM groups WHERE is_default);
ALTER TABLE tickets ALTER COLUMN group_id SET NOT NULL;
CREATE INDEX tickets_group_created ON tickets (group_id, created_at, id);
CREATE INDEX tickets_group_updated ON tickets (group_id, updated_at, id);
CREATE INDEX tickets_group_priority ON tickets (group_id, priority, id);
