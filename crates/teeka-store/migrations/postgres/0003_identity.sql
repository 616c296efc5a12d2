-- Citizen identity: accounts keyed by a blind index of the mobile, OTP transactions, rate-limit
-- events, sessions, the beneficiary registry (personal data sealed), access events, SMS outbox.
-- No column holds a plaintext name, mobile or ID number.
CREATE TABLE accounts (
    account_id    UUID PRIMARY KEY,
    mobile_index  BYTEA NOT NULL UNIQUE,
    mobile_sealed BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE otp_transactions (
    txn_id         UUID PRIMARY KEY,
    mobile_index   BYTEA NOT NULL,
    mobile_sealed  BYTEA NOT NULL,
    otp_hash       BYTEA NOT NULL,
    expires_at     BIGINT NOT NULL,
    wrong_attempts INTEGER NOT NULL DEFAULT 0,
    state          TEXT NOT NULL CHECK (state IN ('open', 'used', 'void')),
    created_at     BIGINT NOT NULL
);

CREATE TABLE rate_events (
    kind   TEXT NOT NULL,
    bucket BYTEA NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX rate_events_by_bucket ON rate_events (kind, bucket, at);
CREATE INDEX rate_events_by_time ON rate_events (at);

CREATE TABLE citizen_sessions (
    token_hash BYTEA PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (account_id),
    expires_at BIGINT NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX citizen_sessions_by_account ON citizen_sessions (account_id);

CREATE TABLE beneficiaries (
    reference_id    TEXT PRIMARY KEY,
    subject_id      UUID NOT NULL UNIQUE,
    account_id      UUID NOT NULL REFERENCES accounts (account_id),
    name_sealed     BYTEA NOT NULL,
    photo_id_type   INTEGER NOT NULL,
    photo_id_index  BYTEA NOT NULL UNIQUE,
    photo_id_sealed BYTEA NOT NULL,
    birth_year      INTEGER NOT NULL,
    gender          INTEGER NOT NULL,
    comorbidity     BOOLEAN NOT NULL,
    consent_version TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX beneficiaries_by_account ON beneficiaries (account_id);

CREATE TABLE access_events (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    role       TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject_id UUID,
    purpose    TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX access_events_by_subject ON access_events (subject_id, seq);

CREATE TABLE outbox (
    message_id      UUID PRIMARY KEY,
    channel         TEXT NOT NULL,
    template        TEXT NOT NULL,
    payload_sealed  BYTEA NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    sent_at         BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

-- Access events are append-only: no code path may edit or remove one. (A database administrator
-- can drop this trigger; the signed Merkle log built on this table is what makes that visible.)
CREATE FUNCTION access_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_events is append-only';
END;
$$;
CREATE TRIGGER access_events_append_only BEFORE UPDATE OR DELETE ON access_events
    FOR EACH ROW EXECUTE FUNCTION access_events_append_only();
