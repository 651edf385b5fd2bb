-- Read receipts v2 (API-workflow.md): each participant has a private read state (the
-- existing columns) and a public one, which others see (receipts, ticks) and which never
-- moves back. The existing state becomes both. Users choose whether their reads are
-- public.
ALTER TABLE participants
    ADD COLUMN public_read_seq   bigint,
    ADD COLUMN public_read_above bigint[];
UPDATE participants SET public_read_seq = last_read_seq, public_read_above = read_above;
ALTER TABLE participants
    ALTER COLUMN public_read_seq SET NOT NULL,
    ALTER COLUMN public_read_above SET NOT NULL;

ALTER TABLE users
    ADD COLUMN read_receipts text NOT NULL DEFAULT 'public'
        CHECK (read_receipts IN ('public', 'private'));
