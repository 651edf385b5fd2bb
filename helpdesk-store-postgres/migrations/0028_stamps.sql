-- The stamps (`SchemaStore::schema_stamp`, `KbStore::kb_stamp`): every statement that
-- writes statuses, fields, calendars, SLA policies or rules moves `schema`, every one
-- that writes articles moves `kb`, in its own transaction, so each instance keeps its
-- copy of them for as long as the stamp stands. The triggers run before the statement:
-- a writer takes the stamp's row lock before any row lock of those tables, so two
-- writers queue on it instead of deadlocking.
CREATE TABLE stamps (
    name  text PRIMARY KEY,
    stamp bigint NOT NULL
);
INSERT INTO stamps (name, stamp) VALUES ('schema', 0), ('kb', 0);

CREATE FUNCTION move_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stamps SET stamp = stamp + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_statuses_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON ticket_statuses FOR EACH STATEMENT EXECUTE FUNCTION move_stamp('schema');
CREATE TRIGGER ticket_fields_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON ticket_fields FOR EACH STATEMENT EXECUTE FUNCTION move_stamp('schema');
CREATE TRIGGER calendars_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON calendars FOR EACH STATEMENT EXECUTE FUNCTION move_stamp('schema');
CREATE TRIGGER sla_policies_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON sla_policies FOR EACH STATEMENT EXECUTE FUNCTION move_stamp('schema');
CREATE TRIGGER rules_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON rules FOR EACH STATEMENT EXECUTE FUNCTION move_stamp('schema');
CREATE TRIGGER articles_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON articles FOR EACH STATEMENT EXECUTE FUNCTION move_stamp('kb');
