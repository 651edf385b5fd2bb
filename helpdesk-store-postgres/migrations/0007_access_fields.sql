-- Organizations of customers, and the access fields of users and tickets (API-access.md).
CREATE TABLE organizations (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    domains    text[] NOT NULL DEFAULT '{}',
    sharing    text NOT NULL CHECK (sharing IN ('none', 'managers', 'all')),
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX organizations_name ON organizations (lower(name));

ALTER TABLE users
    ADD COLUMN organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
    ADD COLUMN is_org_manager boolean NOT NULL DEFAULT false,
    ADD COLUMN is_service boolean NOT NULL DEFAULT false;
CREATE INDEX users_organization ON users (organization_id, created_at, id)
    WHERE organization_id IS NOT NULL;

ALTER TABLE tickets
    ADD COLUMN organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
    ADD COLUMN cc uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN followers uuid[] NOT NULL DEFAULT '{}';
CREATE INDEX tickets_organization_created ON tickets (organization_id, created_at, id)
    WHERE organization_id IS NOT NULL;
CREATE INDEX tickets_cc ON tickets USING gin (cc);
CREATE INDEX tickets_followers ON tickets USING gin (followers);
