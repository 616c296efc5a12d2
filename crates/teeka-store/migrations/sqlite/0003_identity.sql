-- Citizen identity: accounts keyed by a blind index of the mobile, OTP transactions, rate-limit
-- events, sessions, the beneficiary registry (personal data sealed), access events, SMS outbox.
-- No column holds a plaintext name, mobile or ID number.
CREATE TABLE accounts (
    account_id    BLOB PRIMARY KEY,
    mobile_index  BLOB NOT NULL UNIQUE,
    mobile_sealed BLOB NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE otp_transactions (
    txn_id         BLOB PRIMARY KEY,
    mobile_index   BLOB NOT NULL,
    mobile_sealed  BLOB NOT NULL,
    otp_hash       BLOB NOT NULL,
    expires_at     INTEGER NOT NULL,
    wrong_attempts INTEGER NOT NULL DEFAULT 0,
    state          TEXT NOT NULL CHECK (state IN ('open', 'used', 'void')),
    created_at     INTEGER NOT NULL
);

CREATE TABLE rate_events (
    kind   TEXT NOT NULL,
    bucket BLOB NOT NULL,
    at     INTEGER NOT NULL
);
CREATE INDEX rate_events_by_bucket ON rate_events (kind, bucket, at);
CREATE INDEX rate_events_by_time ON rate_events (at);

CREATE TABLE citizen_sessions (
    token_hash BLOB PRIMARY KEY,
    account_id BLOB NOT NULL REFERENCES accounts (account_id),
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX citizen_sessions_by_account ON citizen_sessions (account_id);

CREATE TABLE beneficiaries (
    reference_id    TEXT PRIMARY KEY,
    subject_id      BLOB NOT NULL UNIQUE,
    account_id      BLOB NOT NULL REFERENCES accounts (account_id),
    name_sealed     BLOB NOT NULL,
    photo_id_type   INTEGER NOT NULL,
    photo_id_index  BLOB NOT NULL UNIQUE,
    photo_id_sealed BLOB NOT NULL,
    birth_year      INTEGER NOT NULL,
    gender          INTEGER NOT NULL,
    comorbidity     INTEGER NOT NULL,
    consent_version TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX beneficiaries_by_account ON beneficiaries (account_id);

CREATE TABLE access_events (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject_id BLOB,
    purpose    TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX access_events_by_subject ON access_events (subject_id, seq);

CREATE TABLE outbox (
    message_id      BLOB PRIMARY KEY,
    channel         TEXT NOT NULL,
    template        TEXT NOT NULL,
    payload_sealed  BLOB NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

-- Access events are append-only: no code path may edit or remove one. (A database administrator
-- can drop these triggers; the signed Merkle log built on this table is what makes that visible.)
CREATE TRIGGER access_events_no_update BEFORE UPDATE ON access_events
BEGIN
    SELECT RAISE(ABORT, 'access_events is append-only');
END;
CREATE TRIGGER access_events_no_delete BEFORE DELETE ON access_events
BEGIN
    SELECT RAISE(ABORT, 'access_events is append-only');
END;
