-- Business-hours calendars (API-workflow.md, "Calendars"): a time zone, weekly opening
-- hours and holidays, checked by the library when saved. `hours` is the API shape
-- (`{"mon": [["09:00", "17:00"]], ...}`), `holidays` local dates, ascending.
CREATE TABLE calendars (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    timezone   text NOT NULL,
    hours      jsonb NOT NULL,
    holidays   date[] NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX calendars_order ON calendars ((name COLLATE "C"), id);
