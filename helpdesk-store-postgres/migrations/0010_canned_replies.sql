-- Canned replies (API-workflow.md): shortcuts unique across every scope, compared as
-- bytes (they are ASCII), which is also the list order. A group reply names its group,
-- which cannot be deleted while it does (the store answers `in_use` before the foreign
-- key would); `owner_id` is null for replies the system made.
CREATE TABLE canned_replies (
    id         uuid PRIMARY KEY,
    title      text NOT NULL,
    shortcut   text NOT NULL,
    body       text NOT NULL,
    scope      text NOT NULL CHECK (scope IN ('personal', 'group', 'global')),
    group_id   uuid REFERENCES groups (id),
    owner_id   uuid REFERENCES users (id),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK ((scope = 'group') = (group_id IS NOT NULL))
);
CREATE UNIQUE INDEX canned_replies_shortcut ON canned_replies (shortcut COLLATE "C");
CREATE INDEX canned_replies_group ON canned_replies (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX canned_replies_owner ON canned_replies (owner_id, scope);
