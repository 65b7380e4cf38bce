-- A proposed change to a patron's key data, and its one terminal outcome.

CREATE TABLE change_requests (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patron_id          bigint NOT NULL REFERENCES patrons (id),
    field              text NOT NULL CHECK (field IN ('email')),
    old_value          text NOT NULL,
    new_value          text NOT NULL,
    reason             text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled', 'expired', 'superseded')),
    -- Who closed a cancelled request: the admin, the patron ("this wasn't me"), or the system
    -- when the new address was taken by another patron before approval.
    cancelled_by       text CHECK (cancelled_by IN ('admin', 'patron', 'conflict')),
    requested_by       bigint NOT NULL REFERENCES admins (id),
    superseded_by      bigint REFERENCES change_requests (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    decided_at         timestamptz,
    decided_ip         text,
    decided_user_agent text,
    CHECK ((status = 'pending') = (decided_at IS NULL)),
    CHECK ((status = 'cancelled') = (cancelled_by IS NOT NULL))
);

-- At most one open request per patron and field.
CREATE UNIQUE INDEX change_requests_one_pending
    ON change_requests (patron_id, field) WHERE status = 'pending';
CREATE INDEX change_requests_due ON change_requests (expires_at) WHERE status = 'pending';
CREATE INDEX change_requests_patron ON change_requests (patron_id, created_at DESC);
