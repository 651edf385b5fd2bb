-- Custom ticket fields (API-workflow.md): their definitions, and each ticket's values by
-- key as JSON (values of deactivated fields are kept).
CREATE TABLE ticket_fields (
    id                  uuid PRIMARY KEY,
    key                 text NOT NULL,
    type                text NOT NULL
        CHECK (type IN ('text', 'number', 'date', 'select', 'multiselect', 'checkbox')),
    label               text NOT NULL,
    options             text[] NOT NULL,
    customer_visible    boolean NOT NULL,
    customer_editable   boolean NOT NULL,
    required_on_create  boolean NOT NULL,
    required_on_resolve boolean NOT NULL,
    position            bigint NOT NULL CHECK (position >= 0),
    active              boolean NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT ticket_fields_key UNIQUE (key)
);
ALTER TABLE tickets ADD COLUMN fields jsonb NOT NULL DEFAULT '{}';
