-- Staff accounts: argon2id password hashes (PHC strings), a sealed TOTP secret and the last
-- accepted TOTP step (a code is never accepted twice), failure counting and locks; opaque
-- session tokens stored as SHA-256; and alerts for administrators.
CREATE TABLE staff_accounts (
    staff_id             BLOB PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL,
    scope_kind           TEXT NOT NULL CHECK (scope_kind IN ('centre', 'district', 'state', 'nation')),
    scope_id             INTEGER,
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    totp_secret_sealed   BLOB NOT NULL,
    totp_last_step       INTEGER NOT NULL,
    failed_logins        INTEGER NOT NULL,
    locked_until         INTEGER NOT NULL,
    disabled             INTEGER NOT NULL,
    created_at           INTEGER NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash   BLOB PRIMARY KEY,
    staff_id     BLOB NOT NULL REFERENCES staff_accounts (staff_id),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked      INTEGER NOT NULL
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

CREATE TABLE staff_alerts (
    alert_id   BLOB PRIMARY KEY,
    staff_id   BLOB REFERENCES staff_accounts (staff_id),
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
