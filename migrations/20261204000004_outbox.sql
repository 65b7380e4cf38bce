-- The transactional outbox: a message is queued in the same transaction as the event
-- that causes it, and a worker delivers it later.

CREATE TABLE messages (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id       bigint REFERENCES change_requests (id),
    patron_id        bigint REFERENCES patrons (id),
    kind             text NOT NULL
                     CHECK (kind IN ('proposal_to_new', 'proposal_to_old', 'outcome_to_patron', 'outcome_to_admin')),
    to_address       text NOT NULL,
    locale           text NOT NULL CHECK (locale IN ('en', 'es')),
    message_id       text NOT NULL UNIQUE,
    status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'dead', 'skipped')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_request ON messages (request_id);
