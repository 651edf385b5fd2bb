-- Ticket numbers come from a sequence instead of the `counters` row: `nextval` never
-- waits for another transaction, where the counter row's lock was held by each creating
-- transaction until its commit, so ticket creations ran one at a time. Numbers stay
-- unique and increasing, but a creation that rolls back after taking its number leaves
-- a gap (API.md promises a sequence unique per installation, not a gapless one).
CREATE SEQUENCE ticket_numbers AS bigint MINVALUE 1;
SELECT setval('ticket_numbers', value) FROM counters WHERE name = 'ticket_number' AND value > 0;
DROP TABLE counters;

-- The archive's view of the store's counters: the last ticket number given (0: none).
CREATE VIEW counters AS
    SELECT 'ticket_number'::text AS name,
           CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS value
    FROM ticket_numbers;
