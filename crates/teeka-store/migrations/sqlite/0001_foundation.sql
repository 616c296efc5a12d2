-- Foundation: master data (states, districts, blocks, PIN codes, vaccines), centres and sessions.
CREATE TABLE states (
    state_id     INTEGER PRIMARY KEY,
    state_name   TEXT NOT NULL,
    pin_prefixes TEXT NOT NULL DEFAULT ''
);

CREATE TABLE districts (
    district_id   INTEGER PRIMARY KEY,
    state_id      INTEGER NOT NULL REFERENCES states (state_id),
    district_name TEXT NOT NULL
);
CREATE INDEX districts_by_state ON districts (state_id);

CREATE TABLE blocks (
    block_id    INTEGER PRIMARY KEY,
    district_id INTEGER NOT NULL REFERENCES districts (district_id),
    block_name  TEXT NOT NULL,
    UNIQUE (district_id, block_name)
);

CREATE TABLE pincodes (
    pincode     INTEGER PRIMARY KEY,
    district_id INTEGER NOT NULL REFERENCES districts (district_id)
);

CREATE TABLE vaccines (
    vaccine_name          TEXT PRIMARY KEY,
    manufacturer          TEXT NOT NULL,
    primary_doses         INTEGER NOT NULL,
    min_interval_days     TEXT NOT NULL,
    precaution_after_days INTEGER NOT NULL
);

CREATE TABLE centres (
    centre_id     INTEGER PRIMARY KEY,
    centre_name   TEXT NOT NULL,
    address       TEXT NOT NULL,
    state_id      INTEGER NOT NULL REFERENCES states (state_id),
    district_id   INTEGER NOT NULL REFERENCES districts (district_id),
    block_id      INTEGER NOT NULL REFERENCES blocks (block_id),
    pincode       INTEGER NOT NULL,
    lat           REAL NOT NULL,
    long          REAL NOT NULL,
    fee_type      TEXT NOT NULL CHECK (fee_type IN ('Free', 'Paid')),
    fees          TEXT NOT NULL,
    opens_minute  INTEGER NOT NULL,
    closes_minute INTEGER NOT NULL
);
CREATE INDEX centres_by_district ON centres (district_id);
CREATE INDEX centres_by_pincode ON centres (pincode);
CREATE INDEX centres_by_lat ON centres (lat);

CREATE TABLE sessions (
    session_id        BLOB PRIMARY KEY,
    centre_id         INTEGER NOT NULL REFERENCES centres (centre_id),
    session_date      TEXT NOT NULL,
    vaccine_name      TEXT NOT NULL REFERENCES vaccines (vaccine_name),
    min_age           INTEGER NOT NULL,
    max_age           INTEGER,
    allow_all_age     INTEGER NOT NULL,
    dose1_online      INTEGER NOT NULL CHECK (dose1_online >= 0),
    dose1_onsite      INTEGER NOT NULL CHECK (dose1_onsite >= 0),
    dose2_online      INTEGER NOT NULL CHECK (dose2_online >= 0),
    dose2_onsite      INTEGER NOT NULL CHECK (dose2_onsite >= 0),
    precaution_online INTEGER NOT NULL CHECK (precaution_online >= 0),
    precaution_onsite INTEGER NOT NULL CHECK (precaution_onsite >= 0),
    dose1_booked      INTEGER NOT NULL DEFAULT 0 CHECK (dose1_booked BETWEEN 0 AND dose1_online),
    dose2_booked      INTEGER NOT NULL DEFAULT 0 CHECK (dose2_booked BETWEEN 0 AND dose2_online),
    precaution_booked INTEGER NOT NULL DEFAULT 0 CHECK (precaution_booked BETWEEN 0 AND precaution_online),
    slots             TEXT NOT NULL
);
CREATE INDEX sessions_by_centre_date ON sessions (centre_id, session_date);
