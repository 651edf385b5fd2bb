-- The IMAP pollers' leases (one poller per mailbox over all instances): a row while a
-- mailbox is or was leased; it goes with its mailbox.
CREATE TABLE mailbox_leases (
    mailbox_id uuid PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
    holder     uuid NOT NULL,
    until      timestamptz NOT NULL
);
