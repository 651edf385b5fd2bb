-- The schema stamp (`SchemaStore::schema_stamp`): every statement that writes statuses,
-- fields, calendars, SLA policies or rules moves it in its own transaction, so each
-- instance keeps its copy of them for as long as the stamp stands. The trigger runs
-- before the statement: a writer takes the stamp's row lock before any row lock of
-- those tables, so two schema writers queue on it instead of deadlocking.
CREATE TABLE schema_stamp (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    stamp bigint NOT NULL
);
INSERT INTO schema_stamp (stamp) VALUES (0);

CREATE FUNCTION move_schema_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE schema_stamp SET stamp = stamp + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER ticket_statuses_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON ticket_statuses FOR EACH STATEMENT EXECUTE FUNCTION move_schema_stamp();
CREATE TRIGGER ticket_fields_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON ticket_fields FOR EACH STATEMENT EXECUTE FUNCTION move_schema_stamp();
CREATE TRIGGER calendars_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON calendars FOR EACH STATEMENT EXECUTE FUNCTION move_schema_stamp();
CREATE TRIGGER sla_policies_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON sla_policies FOR EACH STATEMENT EXECUTE FUNCTION move_schema_stamp();
CREATE TRIGGER rules_stamp BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON rules FOR EACH STATEMENT EXECUTE FUNCTION move_schema_stamp();
