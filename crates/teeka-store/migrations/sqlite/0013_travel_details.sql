-- Travel details for an EU Digital COVID Certificate: the name as in the passport and the full
-- date of birth, asked for only when a person wants a certificate for travel. Sealed as one
-- value bound to the person (the app seals and opens it; the store never sees it in clear).
-- Removing the person removes them.
CREATE TABLE travel_details (
    subject_id     BLOB PRIMARY KEY REFERENCES beneficiaries (subject_id) ON DELETE CASCADE,
    details_sealed BLOB NOT NULL,
    updated_at     INTEGER NOT NULL
);
