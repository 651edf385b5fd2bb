-- The Helpdesk schema. Columns that lists filter or sort on are real columns with
-- indexes; nested values no query looks into (members, read_above, marks) are jsonb.
-- User ids are not foreign keys: users are never deleted, and the domain owns the checks.

CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- Gapless counters (ticket numbers): a row lock held until commit serializes takers,
-- and a rollback gives the number back.
CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO counters (name, value) VALUES ('ticket_number', 0);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'agent', 'customer')),
    is_active     boolean NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_created ON users (created_at, id);
CREATE INDEX users_staff ON users (id) WHERE role IN ('admin', 'agent') AND is_active;

CREATE TABLE sessions (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL,
    refresh_hash       text NOT NULL,
    refresh_expires_at timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    revoked_at         timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE conversations (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('direct', 'group', 'ticket')),
    title           text,
    ticket_id       uuid,
    members         jsonb NOT NULL,
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL,
    last_message_at timestamptz,
    last_seq        bigint NOT NULL,
    last_public_seq bigint NOT NULL,
    public_count    bigint NOT NULL,
    direct_key      text,
    CONSTRAINT conversations_direct_key UNIQUE (direct_key)
);

-- One row per current member, with the conversation's latest activity copied in so
-- "my conversations, latest activity first" is one index range scan.
CREATE TABLE conversation_members (
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL,
    kind            text NOT NULL,
    joined_at       timestamptz NOT NULL,
    activity_at     timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_activity
    ON conversation_members (user_id, activity_at DESC, conversation_id DESC);

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    sender_id       uuid NOT NULL,
    content         text NOT NULL,
    parent_id       uuid,
    reply_count     bigint NOT NULL,
    attachment_ids  uuid[] NOT NULL,
    internal        boolean NOT NULL,
    created_at      timestamptz NOT NULL,
    edited_at       timestamptz,
    deleted_at      timestamptz,
    public_ordinal  bigint NOT NULL,
    sender_ordinal  bigint NOT NULL,
    CONSTRAINT messages_seq UNIQUE (conversation_id, seq)
);
CREATE INDEX messages_public ON messages (conversation_id, seq) WHERE NOT internal;
CREATE INDEX messages_own ON messages (conversation_id, sender_id, seq);
CREATE INDEX messages_parent ON messages (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE participants (
    conversation_id     uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id             uuid NOT NULL,
    last_read_seq       bigint NOT NULL,
    public_at_watermark bigint NOT NULL,
    own_at_watermark    bigint NOT NULL,
    read_above          bigint[] NOT NULL,
    delivered_seq       bigint NOT NULL,
    sent_count          bigint NOT NULL,
    read_marks          jsonb NOT NULL,
    delivered_marks     jsonb NOT NULL,
    version             bigint NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX participants_user ON participants (user_id, conversation_id);

CREATE TABLE tickets (
    id                uuid PRIMARY KEY,
    number            bigint NOT NULL,
    subject           text NOT NULL,
    description       text NOT NULL,
    status            text NOT NULL
        CHECK (status IN ('open', 'pending', 'on_hold', 'resolved', 'closed')),
    priority          smallint NOT NULL CHECK (priority BETWEEN 0 AND 3),
    requester_id      uuid NOT NULL,
    assignee_id       uuid,
    tags              text[] NOT NULL,
    conversation_id   uuid NOT NULL REFERENCES conversations (id),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    first_response_at timestamptz,
    resolved_at       timestamptz,
    closed_at         timestamptz,
    version           bigint NOT NULL,
    CONSTRAINT tickets_number UNIQUE (number)
);
CREATE INDEX tickets_conversation ON tickets (conversation_id);
CREATE INDEX tickets_created ON tickets (created_at, id);
CREATE INDEX tickets_updated ON tickets (updated_at, id);
CREATE INDEX tickets_priority ON tickets (priority, id);
CREATE INDEX tickets_status_created ON tickets (status, created_at, id);
CREATE INDEX tickets_status_updated ON tickets (status, updated_at, id);
CREATE INDEX tickets_status_priority ON tickets (status, priority, id);
CREATE INDEX tickets_assignee_created ON tickets (assignee_id, created_at, id);
CREATE INDEX tickets_assignee_updated ON tickets (assignee_id, updated_at, id);
CREATE INDEX tickets_assignee_priority ON tickets (assignee_id, priority, id);
CREATE INDEX tickets_requester_created ON tickets (requester_id, created_at, id);
CREATE INDEX tickets_requester_updated ON tickets (requester_id, updated_at, id);
CREATE INDEX tickets_requester_priority ON tickets (requester_id, priority, id);
CREATE INDEX tickets_tags ON tickets USING gin (tags);

CREATE TABLE ticket_events (
    id        uuid PRIMARY KEY,
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind      text NOT NULL,
    actor_id  uuid,
    at        timestamptz NOT NULL,
    data      jsonb NOT NULL
);
CREATE INDEX ticket_events_timeline ON ticket_events (ticket_id, at, id);

CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL,
    kind            text NOT NULL,
    title           text NOT NULL,
    body            text NOT NULL,
    ticket_id       uuid,
    conversation_id uuid,
    message_id      uuid,
    read_at         timestamptz,
    created_at      timestamptz NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread
    ON notifications (user_id, created_at DESC, id DESC) WHERE read_at IS NULL;

CREATE TABLE articles (
    id           uuid PRIMARY KEY,
    slug         text NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL,
    tags         text[] NOT NULL,
    status       text NOT NULL CHECK (status IN ('draft', 'published')),
    author_id    uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    published_at timestamptz,
    -- Written with the row: title 'A', body 'B', tags 'C' (english stemming).
    search       tsvector NOT NULL,
    CONSTRAINT articles_slug UNIQUE (slug)
);
CREATE INDEX articles_created ON articles (created_at DESC, id DESC);
CREATE INDEX articles_tags ON articles USING gin (tags);
CREATE INDEX articles_search ON articles USING gin (search);

CREATE TABLE attachments (
    id              uuid PRIMARY KEY,
    filename        text NOT NULL,
    content_type    text NOT NULL,
    size            bigint NOT NULL,
    sha256          text NOT NULL,
    uploaded_by     uuid NOT NULL,
    created_at      timestamptz NOT NULL,
    parent_kind     text CHECK (parent_kind IN ('ticket', 'message')),
    ticket_id       uuid,
    conversation_id uuid,
    message_id      uuid
);
CREATE INDEX attachments_ticket ON attachments (ticket_id, created_at, id) WHERE ticket_id IS NOT NULL;
CREATE INDEX attachments_message ON attachments (message_id, created_at, id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_conversation ON attachments (conversation_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX attachments_unattached ON attachments (created_at) WHERE parent_kind IS NULL;

-- Blob bytes, written chunk by chunk before the attachment's metadata.
CREATE TABLE blob_chunks (
    blob_id uuid NOT NULL,
    idx     integer NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (blob_id, idx)
);

-- The event log. An id is (the writing transaction's xid8 << 20) + its position in that
-- transaction, so readers that stop below (xmin of their snapshot << 20) never pass an
-- event that a transaction still in flight will commit later.
CREATE TABLE events (
    id           bigint PRIMARY KEY,
    kind         text NOT NULL,
    at           timestamptz NOT NULL,
    audience     jsonb NOT NULL,
    data         jsonb NOT NULL,
    only_webhook uuid
);

CREATE TABLE webhooks (
    id                    uuid PRIMARY KEY,
    url                   text NOT NULL,
    events                text[] NOT NULL,
    description           text NOT NULL,
    active                boolean NOT NULL,
    secret                text NOT NULL,
    previous_secret       text,
    previous_secret_until timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX webhooks_created ON webhooks (created_at, id);

CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    webhook_id       uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         bigint NOT NULL REFERENCES events (id),
    event_type       text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'dead')),
    attempts         integer NOT NULL,
    last_status_code integer,
    last_error       text,
    next_attempt_at  timestamptz,
    created_at       timestamptz NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, event_id, id) WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at DESC, id DESC);
CREATE INDEX deliveries_event ON deliveries (event_id);

-- HTML-escapes text (the same five characters as helpdesk_core::search::escape_html).
-- ts_headline does not escape, so snippets headline an escaped copy.
CREATE FUNCTION helpdesk_escape_html(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT replace(replace(replace(replace(replace(t,
        '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;

-- The search document of an article: title 'A', body 'B', tags 'C'.
CREATE FUNCTION helpdesk_article_search(title text, body text, tags text[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce(array_to_string(tags, ' '), '')), 'C')
$$;
