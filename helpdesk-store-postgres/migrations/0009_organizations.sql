-- Organizations (API-access.md): names unique and listed by the key the core computes
-- (Rust's lowercasing, which PostgreSQL's `lower` may not match on rare characters),
-- compared as bytes; each domain listed by one organization at most.
ALTER TABLE organizations ADD COLUMN name_key text;
UPDATE organizations SET name_key = lower(name);
ALTER TABLE organizations ALTER COLUMN name_key SET NOT NULL;
DROP INDEX organizations_name;
CREATE UNIQUE INDEX organizations_name_key ON organizations (name_key COLLATE "C");

-- `organizations.domains` keeps each organization's list in its order; this table is
-- the index that makes a domain unique across organizations and finds its owner.
CREATE TABLE organization_domains (
    domain          text PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE
);
CREATE INDEX organization_domains_organization ON organization_domains (organization_id);
INSERT INTO organization_domains (domain, organization_id)
SELECT DISTINCT ON (d) d, o.id
FROM organizations o CROSS JOIN LATERAL unnest(o.domains) AS d
ORDER BY d, o.created_at, o.id;
