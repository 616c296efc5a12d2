-- Partners: the registry (credentials stored hashed), the kill switch, consent requests waiting
-- for the person's OTP, signed consents, partner tokens (each bound to one consent), and the
-- hourly usage behind quotas and anomaly alerts. No column holds personal data in the clear:
-- usage counts people by account id only, and only per hour.
CREATE TABLE partners (
    partner_id          BLOB PRIMARY KEY,
    client_id           TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    purpose             TEXT NOT NULL,
    scopes              TEXT NOT NULL,
    fields              TEXT NOT NULL,
    requests_per_minute INTEGER NOT NULL,
    daily_quota         INTEGER NOT NULL,
    people_per_hour     INTEGER NOT NULL,
    expires_at          INTEGER,
    contact             TEXT NOT NULL,
    secret_hash         BLOB NOT NULL,
    tls_fingerprint     TEXT,
    disabled            INTEGER NOT NULL DEFAULT 0,
    throttled_until     INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
);

-- A row is a switch turned off: 'all', or 'scope:<scope>'. Partners are switched one by one
-- with partners.disabled.
CREATE TABLE partner_switches (
    target     TEXT PRIMARY KEY,
    changed_at INTEGER NOT NULL
);

CREATE TABLE consent_requests (
    txn_id      BLOB PRIMARY KEY,
    partner_id  BLOB NOT NULL REFERENCES partners (partner_id),
    purpose     TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    fields      TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE consents (
    consent_id BLOB PRIMARY KEY,
    partner_id BLOB NOT NULL REFERENCES partners (partner_id),
    account_id BLOB NOT NULL REFERENCES accounts (account_id),
    purpose    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    fields     TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    artefact   TEXT NOT NULL,
    signature  BLOB NOT NULL
);
CREATE INDEX consents_by_account ON consents (account_id);

CREATE TABLE partner_tokens (
    token_hash BLOB PRIMARY KEY,
    consent_id BLOB NOT NULL REFERENCES consents (consent_id),
    expires_at INTEGER NOT NULL
);
CREATE INDEX partner_tokens_by_consent ON partner_tokens (consent_id);

CREATE TABLE partner_usage (
    partner_id BLOB NOT NULL,
    hour       INTEGER NOT NULL,
    calls      INTEGER NOT NULL,
    PRIMARY KEY (partner_id, hour)
);

CREATE TABLE partner_minutes (
    partner_id BLOB NOT NULL,
    minute     INTEGER NOT NULL,
    calls      INTEGER NOT NULL,
    PRIMARY KEY (partner_id, minute)
);

CREATE TABLE partner_people (
    partner_id BLOB NOT NULL,
    hour       INTEGER NOT NULL,
    account_id BLOB NOT NULL,
    PRIMARY KEY (partner_id, hour, account_id)
);
