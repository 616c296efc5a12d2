-- The vaccination desk and staff oversight: each account's full jurisdiction path, automatic
-- suspension, alerts addressed to a district or state, wrong-code counting per appointment,
-- the on-site (walk-in) share in use, short-lived openings of one person at one centre
-- (check-in, walk-in, break-glass), doses with who gave them and where, audited corrections,
-- adverse events, and the per-account signals that anomaly detection counts.
ALTER TABLE staff_accounts ADD COLUMN scope_district INTEGER;
ALTER TABLE staff_accounts ADD COLUMN scope_state INTEGER;
ALTER TABLE staff_accounts ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
-- Accounts made before this migration get their path filled in from master data.
UPDATE staff_accounts SET scope_district = (SELECT district_id FROM centres WHERE centre_id = staff_accounts.scope_id),
    scope_state = (SELECT state_id FROM centres WHERE centre_id = staff_accounts.scope_id)
    WHERE scope_kind = 'centre';
UPDATE staff_accounts SET scope_district = scope_id,
    scope_state = (SELECT state_id FROM districts WHERE district_id = staff_accounts.scope_id)
    WHERE scope_kind = 'district';
UPDATE staff_accounts SET scope_state = scope_id WHERE scope_kind = 'state';

ALTER TABLE staff_alerts ADD COLUMN district_id INTEGER;
ALTER TABLE staff_alerts ADD COLUMN state_id INTEGER;
ALTER TABLE staff_alerts ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0;

ALTER TABLE appointments ADD COLUMN wrong_codes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE appointments ADD COLUMN desk_locked INTEGER NOT NULL DEFAULT 0;

ALTER TABLE sessions ADD COLUMN dose1_walkin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN dose2_walkin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN precaution_walkin INTEGER NOT NULL DEFAULT 0;

CREATE TABLE desk_openings (
    opening_id     BLOB PRIMARY KEY,
    staff_id       BLOB NOT NULL REFERENCES staff_accounts (staff_id),
    centre_id      INTEGER NOT NULL REFERENCES centres (centre_id),
    subject_id     BLOB NOT NULL,
    reference_id   TEXT NOT NULL,
    account_id     BLOB NOT NULL,
    appointment_id BLOB,
    session_id     BLOB,
    dose           INTEGER,
    kind           TEXT NOT NULL CHECK (kind IN ('checkin', 'walkin', 'breakglass')),
    reason_code    TEXT,
    reason_sealed  BLOB,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    dosed          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX desk_openings_by_staff ON desk_openings (staff_id, created_at);
CREATE INDEX desk_openings_by_centre ON desk_openings (centre_id, reference_id, expires_at);

-- Doses gain who, where and which batch, and a revoked flag for audited corrections: one valid
-- dose per person and dose number. SQLite cannot drop a table constraint, so the table is rebuilt.
CREATE TABLE doses_v7 (
    dose_id        BLOB PRIMARY KEY,
    subject_id     BLOB NOT NULL,
    dose_number    INTEGER NOT NULL,
    vaccine_name   TEXT NOT NULL REFERENCES vaccines (vaccine_name),
    given_on       TEXT NOT NULL,
    given_at       INTEGER,
    batch          TEXT,
    centre_id      INTEGER,
    vaccinator_id  BLOB,
    appointment_id BLOB,
    revoked        INTEGER NOT NULL DEFAULT 0
);
INSERT INTO doses_v7 (dose_id, subject_id, dose_number, vaccine_name, given_on)
    SELECT dose_id, subject_id, dose_number, vaccine_name, given_on FROM doses;
DROP TABLE doses;
ALTER TABLE doses_v7 RENAME TO doses;
CREATE UNIQUE INDEX one_valid_dose_per_number ON doses (subject_id, dose_number) WHERE revoked = 0;

CREATE TABLE dose_corrections (
    correction_id  BLOB PRIMARY KEY,
    dose_id        BLOB NOT NULL REFERENCES doses (dose_id),
    staff_id       BLOB NOT NULL REFERENCES staff_accounts (staff_id),
    action         TEXT NOT NULL CHECK (action IN ('correct', 'revoke')),
    reason         TEXT NOT NULL,
    before_vaccine TEXT NOT NULL,
    before_batch   TEXT,
    after_vaccine  TEXT,
    after_batch    TEXT,
    at             INTEGER NOT NULL
);

CREATE TABLE aefi_reports (
    aefi_id      BLOB PRIMARY KEY,
    dose_id      BLOB NOT NULL REFERENCES doses (dose_id),
    subject_id   BLOB NOT NULL,
    staff_id     BLOB NOT NULL REFERENCES staff_accounts (staff_id),
    centre_id    INTEGER NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('minor', 'severe', 'serious')),
    symptoms     TEXT NOT NULL,
    onset_at     INTEGER NOT NULL,
    notes_sealed BLOB,
    reported_at  INTEGER NOT NULL
);

CREATE TABLE staff_signals (
    staff_id BLOB NOT NULL,
    kind     TEXT NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX staff_signals_by_staff ON staff_signals (staff_id, kind, at);
