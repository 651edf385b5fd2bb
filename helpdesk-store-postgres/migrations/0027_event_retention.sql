-- The retention window (`--event-retention`): the highest event id pruned, so a
-- `resume` after an older id is told it missed events; read notifications found by
-- the time they were read.
CREATE TABLE event_horizon (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    through bigint NOT NULL
);
CREATE INDEX notifications_read ON notifications (read_at) WHERE read_at IS NOT NULL;
