-- The email channel (API-email.md): how tickets and messages came, the mailbox a ticket
-- is mailed through, inbound records with their bytes, the outbox, suppressions.

-- Rows from before: opened and sent on the web, naming no mailbox. A ticket naming a
-- mailbox keeps it from being deleted (the foreign key's violation is `InUse`).
ALTER TABLE tickets
    ADD COLUMN channel      text NOT NULL DEFAULT 'web' CHECK (channel IN ('web', 'email')),
    ADD COLUMN mailbox_id   uuid CONSTRAINT tickets_mailbox REFERENCES mailboxes (id),
    ADD COLUMN follow_up_of uuid;
CREATE INDEX tickets_mailbox_id ON tickets (mailbox_id) WHERE mailbox_id IS NOT NULL;
ALTER TABLE messages
    ADD COLUMN channel text NOT NULL DEFAULT 'web' CHECK (channel IN ('web', 'email'));

-- One row per mail a mailbox received; `(mailbox_id, dedupe_key)` is unique (its
-- violation is `Conflict::Duplicate`). `message_key` is the Message-ID ASCII-lower-cased
-- (the Message-ID index). Mailboxes, tickets and messages are named without foreign
-- keys: records outlive what they name. The bytes are in `inbound_raw`, which no list
-- reads.
CREATE TABLE inbound_mail (
    id                  uuid PRIMARY KEY,
    mailbox_id          uuid NOT NULL,
    internet_message_id text,
    message_key         text,
    dedupe_key          text NOT NULL,
    from_address        text,
    to_addresses        text[] NOT NULL,
    cc_addresses        text[] NOT NULL,
    subject             text NOT NULL,
    size                bigint NOT NULL,
    via                 text NOT NULL,
    auto                boolean NOT NULL,
    result              text NOT NULL,
    reason              text,
    ticket_id           uuid,
    message_id          uuid,
    left_out            text[] NOT NULL,
    refs                text[] NOT NULL,
    received_at         timestamptz NOT NULL,
    CONSTRAINT inbound_mail_dedupe UNIQUE (mailbox_id, dedupe_key)
);
CREATE INDEX inbound_mail_listed ON inbound_mail (mailbox_id, received_at, id);
CREATE INDEX inbound_mail_message_key ON inbound_mail (message_key)
    WHERE message_key IS NOT NULL;
CREATE INDEX inbound_mail_ticket ON inbound_mail (ticket_id, received_at, id)
    WHERE ticket_id IS NOT NULL;
CREATE TABLE inbound_raw (
    id  uuid PRIMARY KEY REFERENCES inbound_mail (id) ON DELETE CASCADE,
    raw bytea NOT NULL
);

-- The durable outbox, claimed like webhook deliveries (`FOR UPDATE SKIP LOCKED`).
CREATE TABLE outbound_mail (
    id                  uuid PRIMARY KEY,
    mailbox_id          uuid NOT NULL,
    kind                text NOT NULL,
    ticket_id           uuid,
    message_id          uuid,
    notification_id     uuid,
    to_addresses        text[] NOT NULL,
    cc_addresses        text[] NOT NULL,
    subject             text NOT NULL,
    internet_message_id text NOT NULL,
    message_key         text NOT NULL,
    refs                text[] NOT NULL,
    status              text NOT NULL,
    attempts            integer NOT NULL,
    last_smtp_code      integer,
    last_error          text,
    rejected            jsonb NOT NULL,
    next_attempt_at     timestamptz,
    sent_at             timestamptz,
    created_at          timestamptz NOT NULL
);
CREATE INDEX outbound_mail_due ON outbound_mail (next_attempt_at, id)
    WHERE status IN ('pending', 'failed');
CREATE INDEX outbound_mail_listed ON outbound_mail (mailbox_id, created_at, id);
CREATE INDEX outbound_mail_message_key ON outbound_mail (message_key);
CREATE INDEX outbound_mail_ticket ON outbound_mail (ticket_id, created_at, id)
    WHERE ticket_id IS NOT NULL;
CREATE INDEX outbound_mail_auto_replies ON outbound_mail (created_at)
    WHERE kind = 'auto_reply';
CREATE TABLE outbound_raw (
    id  uuid PRIMARY KEY REFERENCES outbound_mail (id) ON DELETE CASCADE,
    raw bytea NOT NULL
);

-- Addresses not mailed, lower-case, in byte order.
CREATE TABLE suppressions (
    address     text COLLATE "C" PRIMARY KEY,
    reason      text NOT NULL,
    detail      text NOT NULL,
    outbound_id uuid,
    created_at  timestamptz NOT NULL
);
