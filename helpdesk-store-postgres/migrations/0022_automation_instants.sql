-- Automations that count hours (API-workflow.md "Triggers and automations"): when one's
-- `hours_since_*` predicate next turns on a ticket (helpdesk_core's Ticket::automation_at),
-- one of the instants `next_due_at` (0017) is the earliest of.
ALTER TABLE tickets ADD COLUMN automation_at timestamptz;
