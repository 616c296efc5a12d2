-- Partners: the registry (credentials stored hashed), the kill switch, consent requests waiting
-- for the person's OTP, signed consents, partner tokens (each bound to one consent), and the
-- hourly usage behind quotas and anomaly alerts. No column holds personal data in the clear:
-- usage counts people by account id only, and only per hour.
CREATE TABLE partners (
    partner_id          UUID PRIMARY KEY,
    client_id           TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    scopes              TEXT NOT NULL,
    fields              TEXT NOT NULL,
    requests_per_minute INTEGER NOT NULL,
    daily_quota         BIGINT NOT NULL,
    people_per_hour     BIGINT NOT NULL,
    expires_at          BIGINT,
    contact             TEXT NOT NULL,
    secret_hash         BYTEA NOT NULL,
    tls_fingerprint     TEXT,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    throttled_until     BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL
);

-- A row is a switch turned off: 'all', or 'scope:<scope>'. Partners are switched one by one
-- with partners.disabled.
CREATE TABLE partner_switches (
    target     TEXT PRIMARY KEY,
    changed_at BIGINT NOT NULL
);

CREATE TABLE consent_requests (
    txn_id      UUID PRIMARY KEY,
    partner_id  UUID NOT NULL REFERENCES partners (partner_id),
    purpose     TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    fields      TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE consents (
    consent_id UUID PRIMARY KEY,
    partner_id UUID NOT NULL REFERENCES partners (partner_id),
    account_id UUID NOT NULL REFERENCES accounts (account_id),
    purpose    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    fields     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    artefact   TEXT NOT NULL,
    signature  BYTEA NOT NULL
);
CREATE INDEX consents_by_account ON consents (account_id);

CREATE TABLE partner_tokens (
    token_hash BYTEA PRIMARY KEY,
    consent_id UUID NOT NULL REFERENCES consents (consent_id),
    expires_at BIGINT NOT NULL
);
CREATE INDEX partner_tokens_by_consent ON partner_tokens (consent_id);

CREATE TABLE partner_usage (
    partner_id UUID NOT NULL,
    hour       BIGINT NOT NULL,
    calls      BIGINT NOT NULL,
    PRIMARY KEY (partner_id, hour)
);

CREATE TABLE partner_minutes (
    partner_id UUID NOT NULL,
    minute     BIGINT NOT NULL,
    calls      BIGINT NOT NULL,
    PRIMARY KEY (partner_id, minute)
);

CREATE TABLE partner_people (
    partner_id UUID NOT NULL,
    hour       BIGINT NOT NULL,
    account_id UUID NOT NULL,
    PRIMARY KEY (partner_id, hour, account_id)
);
