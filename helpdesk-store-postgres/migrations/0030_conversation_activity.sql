-- "My conversations, latest activity first" orders by the conversation's own activity
-- (`Conversation::activity_at`: its newest message's time, else its creation time)
-- instead of a copy in every member's row: a message to a group of a thousand members
-- wrote a thousand member rows (and their index entries) to move that copy.
-- A member's list reads their rows by user and sorts them (most users are in few
-- conversations), or, for a member of very many, walks the conversations newest first
-- and keeps theirs; the planner picks.
DROP INDEX conversation_members_activity;
ALTER TABLE conversation_members DROP COLUMN activity_at;
CREATE INDEX conversation_members_user ON conversation_members (user_id, conversation_id);
CREATE INDEX conversations_activity
    ON conversations ((coalesce(last_message_at, created_at)) DESC, id DESC);
