-- Macros (API-workflow.md): global, admin-managed lists of actions. `actions` is the
-- list in the action language's API shape, checked by the library when saved.
CREATE TABLE macros (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    actions    jsonb NOT NULL,
    position   bigint NOT NULL CHECK (position >= 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX macros_order ON macros (position, id);

-- What made a timeline entry's change on its actor's behalf: `{kind, id}` of a macro or
-- rule, null for none.
ALTER TABLE ticket_events ADD COLUMN via jsonb;
