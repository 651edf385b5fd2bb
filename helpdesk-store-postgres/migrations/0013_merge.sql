-- Merging tickets (API-workflow.md "Merge"): a merged ticket names the ticket it was
-- merged into and keeps the status it had, which unmerge restores; a ticket lists those
-- merged directly into it, oldest first. No foreign key: deleting a ticket clears the
-- references in the same transaction and moves the tickets' versions on.
ALTER TABLE tickets
    ADD COLUMN merged_into_id uuid,
    ADD COLUMN merged_ids uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN pre_merge_status text;

-- A ticket's messages with those merged into it are paged by (created_at, id).
CREATE INDEX messages_created ON messages (conversation_id, created_at, id);
