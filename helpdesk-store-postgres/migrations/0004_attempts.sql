-- Counted attempts (failed logins, wrong current passwords, signups), so that every
-- instance sharing the database sees the same counts and N instances do not give N
-- times the guesses. Keys are digests made by the library; rows older than the longest
-- limit window are deleted by the next insert.
CREATE TABLE attempts (
    key text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX attempts_by_key ON attempts (key, at DESC);
CREATE INDEX attempts_by_time ON attempts (at);
