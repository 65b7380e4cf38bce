-- The append-only evidence of every event. The database itself refuses to rewrite it.

CREATE TABLE audit_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL CHECK (actor IN ('admin', 'patron', 'system')),
    admin_id      bigint REFERENCES admins (id),
    patron_id     bigint REFERENCES patrons (id),
    request_id    bigint REFERENCES change_requests (id),
    kind          text NOT NULL,
    old_value     text,
    new_value     text,
    reason        text,
    ip            text,
    user_agent    text,
    text_version  text,
    detail        jsonb
);
CREATE INDEX audit_events_patron ON audit_events (patron_id, at DESC);
CREATE INDEX audit_events_request ON audit_events (request_id);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
