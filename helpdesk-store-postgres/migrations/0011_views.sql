-- Saved views (API-workflow.md): scoped as canned replies. A group view names its group,
-- which cannot be deleted while it does (the store answers `in_use` before the foreign
-- key would); `owner_id` is null for views the system made. `filter` is the condition in
-- its API shape, `sort` the ticket list order's API name.
CREATE TABLE views (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    scope      text NOT NULL CHECK (scope IN ('personal', 'group', 'global')),
    group_id   uuid REFERENCES groups (id),
    owner_id   uuid REFERENCES users (id),
    filter     jsonb NOT NULL,
    sort       text NOT NULL,
    position   bigint NOT NULL CHECK (position >= 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK ((scope = 'group') = (group_id IS NOT NULL))
);
CREATE INDEX views_group ON views (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX views_owner ON views (owner_id, scope);
