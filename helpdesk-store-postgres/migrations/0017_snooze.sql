-- Snooze (API-workflow.md "Snooze") and the scheduler (DESIGN.md "One scheduler"): a
-- ticket's snooze, the earliest instant something on it is due (helpdesk_core's
-- schedule::next_due_at, kept by every ticket write), and a claim's hold on it (cleared
-- by every ticket write, so a change makes the ticket claimable again at once).
ALTER TABLE tickets ADD COLUMN snooze jsonb;
ALTER TABLE tickets ADD COLUMN next_due_at timestamptz;
ALTER TABLE tickets ADD COLUMN due_held_until timestamptz;
CREATE INDEX tickets_next_due ON tickets (next_due_at) WHERE next_due_at IS NOT NULL;
