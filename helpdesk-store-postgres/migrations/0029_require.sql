-- `require(ok, what)`: true, or an error (SQLSTATE HD001, message `what`) that aborts the
-- statement evaluating it. An operation whose writes are one statement runs it on its
-- own, without a transaction around it, and checks what that statement wrote (a
-- version check's UPDATE matched its row; no webhook endpoint is active, else the
-- deliveries take statements of their own) in the statement itself: a failed check
-- undoes every write of the statement.
CREATE FUNCTION require(ok boolean, what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF ok THEN
        RETURN true;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'HD001', MESSAGE = what;
END
$$;
