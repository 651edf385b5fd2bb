-- SLA (API-workflow.md "SLA policies"): the policies, and each ticket's SLA (its history
-- and due times under the policy in force, as JSON) with the earliest running due time
-- for the `sla=` filters and the `sla_due_at` orders.
CREATE TABLE sla_policies (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    position     bigint NOT NULL CHECK (position >= 0),
    active       boolean NOT NULL,
    condition    jsonb NOT NULL,
    calendar_id  uuid,
    targets      jsonb NOT NULL,
    warn_percent smallint CHECK (warn_percent BETWEEN 1 AND 99),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
ALTER TABLE tickets ADD COLUMN sla jsonb NOT NULL DEFAULT '{}';
ALTER TABLE tickets ADD COLUMN sla_due_at timestamptz;
CREATE INDEX tickets_sla_due ON tickets (sla_due_at) WHERE sla_due_at IS NOT NULL;
