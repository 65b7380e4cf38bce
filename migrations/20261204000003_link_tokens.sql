-- Links mailed to patrons. Only the SHA-256 of a token is kept; the raw token exists in
-- the worker's memory and in the sent message.

CREATE TABLE link_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    request_id  bigint NOT NULL REFERENCES change_requests (id),
    purpose     text NOT NULL CHECK (purpose IN ('decide', 'not_me')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX link_tokens_request ON link_tokens (request_id);
