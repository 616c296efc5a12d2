-- Booking: recorded doses (written by the vaccination desk), appointments and who they are for.
-- Capacity lives on the session row (`*_booked` counters, CHECKed against the online share), so a
-- booking is one conditional UPDATE: it cannot oversell on either backend.
CREATE TABLE doses (
    dose_id      UUID PRIMARY KEY,
    subject_id   UUID NOT NULL,
    dose_number  INTEGER NOT NULL,
    vaccine_name TEXT NOT NULL REFERENCES vaccines (vaccine_name),
    given_on     DATE NOT NULL,
    UNIQUE (subject_id, dose_number)
);

CREATE TABLE appointments (
    appointment_id  UUID PRIMARY KEY,
    confirmation_no TEXT NOT NULL UNIQUE,
    account_id      UUID NOT NULL REFERENCES accounts (account_id),
    session_id      UUID NOT NULL REFERENCES sessions (session_id),
    slot            TEXT NOT NULL,
    dose            INTEGER NOT NULL CHECK (dose IN (1, 2, 3)),
    code_sealed     BYTEA NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('booked', 'cancelled')),
    created_at      BIGINT NOT NULL
);
CREATE INDEX appointments_by_account ON appointments (account_id);

CREATE TABLE appointment_beneficiaries (
    appointment_id UUID NOT NULL REFERENCES appointments (appointment_id),
    reference_id   TEXT NOT NULL,
    subject_id     UUID NOT NULL,
    dose           INTEGER NOT NULL,
    live           BOOLEAN NOT NULL,
    PRIMARY KEY (appointment_id, reference_id)
);
-- One live appointment per person per dose.
CREATE UNIQUE INDEX one_live_appointment_per_dose ON appointment_beneficiaries (subject_id, dose) WHERE live;
