-- Certificates: one per valid dose, issued in the dose's own transaction. Only what identifies a
-- certificate is kept (its id, the dose, the signing key's id, when); the signed document is
-- rebuilt from the dose and the person when downloaded, so no personal data is copied here.
-- A corrected or revoked dose revokes its certificate (revoked_at); a correction issues a new one.
CREATE TABLE certificates (
    certificate_id TEXT PRIMARY KEY,
    dose_id        UUID NOT NULL,
    subject_id     UUID NOT NULL,
    kind           TEXT NOT NULL,
    kid            TEXT NOT NULL,
    issued_at      BIGINT NOT NULL,
    revoked_at     BIGINT
);
CREATE UNIQUE INDEX one_live_certificate_per_dose ON certificates (dose_id) WHERE revoked_at IS NULL;
CREATE INDEX certificates_by_subject ON certificates (subject_id);
CREATE INDEX certificates_revoked ON certificates (revoked_at) WHERE revoked_at IS NOT NULL;
