-- The vaccination desk and staff oversight: each account's full jurisdiction path, automatic
-- suspension, alerts addressed to a district or state, wrong-code counting per appointment,
-- the on-site (walk-in) share in use, short-lived openings of one person at one centre
-- (check-in, walk-in, break-glass), doses with who gave them and where, audited corrections,
-- adverse events, and the per-account signals that anomaly detection counts.
ALTER TABLE staff_accounts ADD COLUMN scope_district BIGINT;
ALTER TABLE staff_accounts ADD COLUMN scope_state BIGINT;
ALTER TABLE staff_accounts ADD COLUMN suspended BOOLEAN NOT NULL DEFAULT FALSE;
-- Accounts made before this migration get their path filled in from master data.
UPDATE staff_accounts SET scope_district = (SELECT district_id FROM centres WHERE centre_id = staff_accounts.scope_id),
    scope_state = (SELECT state_id FROM centres WHERE centre_id = staff_accounts.scope_id)
    WHERE scope_kind = 'centre';
UPDATE staff_accounts SET scope_district = scope_id,
    scope_state = (SELECT state_id FROM districts WHERE district_id = staff_accounts.scope_id)
    WHERE scope_kind = 'district';
UPDATE staff_accounts SET scope_state = scope_id WHERE scope_kind = 'state';

ALTER TABLE staff_alerts ADD COLUMN district_id BIGINT;
ALTER TABLE staff_alerts ADD COLUMN state_id BIGINT;
ALTER TABLE staff_alerts ADD COLUMN reviewed BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE appointments ADD COLUMN wrong_codes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE appointments ADD COLUMN desk_locked BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE sessions ADD COLUMN dose1_walkin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN dose2_walkin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN precaution_walkin INTEGER NOT NULL DEFAULT 0;

CREATE TABLE desk_openings (
    opening_id     UUID PRIMARY KEY,
    staff_id       UUID NOT NULL REFERENCES staff_accounts (staff_id),
    centre_id      BIGINT NOT NULL REFERENCES centres (centre_id),
    subject_id     UUID NOT NULL,
    reference_id   TEXT NOT NULL,
    account_id     UUID NOT NULL,
    appointment_id UUID,
    session_id     UUID,
    dose           INTEGER,
    kind           TEXT NOT NULL CHECK (kind IN ('checkin', 'walkin', 'breakglass')),
    reason_code    TEXT,
    reason_sealed  BYTEA,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    dosed          BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX desk_openings_by_staff ON desk_openings (staff_id, created_at);
CREATE INDEX desk_openings_by_centre ON desk_openings (centre_id, reference_id, expires_at);

-- Doses gain who, where and which batch, and a revoked flag for audited corrections: one valid
-- dose per person and dose number.
ALTER TABLE doses ADD COLUMN given_at BIGINT;
ALTER TABLE doses ADD COLUMN batch TEXT;
ALTER TABLE doses ADD COLUMN centre_id BIGINT;
ALTER TABLE doses ADD COLUMN vaccinator_id UUID;
ALTER TABLE doses ADD COLUMN appointment_id UUID;
ALTER TABLE doses ADD COLUMN revoked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE doses DROP CONSTRAINT doses_subject_id_dose_number_key;
CREATE UNIQUE INDEX one_valid_dose_per_number ON doses (subject_id, dose_number) WHERE NOT revoked;

CREATE TABLE dose_corrections (
    correction_id  UUID PRIMARY KEY,
    dose_id        UUID NOT NULL REFERENCES doses (dose_id),
    staff_id       UUID NOT NULL REFERENCES staff_accounts (staff_id),
    action         TEXT NOT NULL CHECK (action IN ('correct', 'revoke')),
    reason         TEXT NOT NULL,
    before_vaccine TEXT NOT NULL,
    before_batch   TEXT,
    after_vaccine  TEXT,
    after_batch    TEXT,
    at             BIGINT NOT NULL
);

CREATE TABLE aefi_reports (
    aefi_id      UUID PRIMARY KEY,
    dose_id      UUID NOT NULL REFERENCES doses (dose_id),
    subject_id   UUID NOT NULL,
    staff_id     UUID NOT NULL REFERENCES staff_accounts (staff_id),
    centre_id    BIGINT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('minor', 'severe', 'serious')),
    symptoms     TEXT NOT NULL,
    onset_at     BIGINT NOT NULL,
    notes_sealed BYTEA,
    reported_at  BIGINT NOT NULL
);

CREATE TABLE staff_signals (
    staff_id UUID NOT NULL,
    kind     TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX staff_signals_by_staff ON staff_signals (staff_id, kind, at);
