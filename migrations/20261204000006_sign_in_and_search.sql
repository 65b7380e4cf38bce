-- Failed sign-ins, kept to throttle guessing per account and per address.
CREATE TABLE sign_in_failures (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL DEFAULT now(),
    email  text NOT NULL,
    ip     text NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (lower(email), at);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (ip, at);

-- Patron search by any part of a name or address.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX patrons_name_trgm ON patrons USING gin (lower(name) gin_trgm_ops);
CREATE INDEX patrons_email_trgm ON patrons USING gin (lower(email) gin_trgm_ops);
