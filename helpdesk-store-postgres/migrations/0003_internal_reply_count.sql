-- How many of a message's direct replies are internal notes (counted in `reply_count`
-- too): a reader who may not see notes, a customer, is shown `reply_count` without
-- them. Existing messages get the count of the replies already stored. The default
-- stays for writers that do not name the column; this build always does.
ALTER TABLE messages ADD COLUMN internal_reply_count bigint NOT NULL DEFAULT 0;
UPDATE messages AS m SET internal_reply_count = r.n
FROM (
    SELECT parent_id, count(*) AS n FROM messages
    WHERE internal AND parent_id IS NOT NULL
    GROUP BY parent_id
) AS r
WHERE m.id = r.parent_id;
