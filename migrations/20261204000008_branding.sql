-- How the venue looks to its patrons, as a manager last set it. One row at most; while it
-- is absent, the configuration (ORG_NAME, BRAND_COLOUR, ...) applies. Every change is
-- also an audit event with the before and after.

CREATE TABLE branding (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    org_name       text NOT NULL CHECK (char_length(org_name) BETWEEN 1 AND 100),
    colour         text NOT NULL CHECK (colour ~ '^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$'),
    logo_url       text CHECK (char_length(logo_url) <= 500),
    support_email  text NOT NULL CHECK (char_length(support_email) <= 254),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     bigint NOT NULL REFERENCES admins (id)
);
