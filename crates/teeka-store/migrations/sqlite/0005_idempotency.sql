-- Idempotency keys: a retried booking with the same `Idempotency-Key` gets the first answer.
-- The key is recorded in the booking's own transaction, so a key exists exactly when its
-- booking does; the request hash tells a true retry from a key reused for another request.
CREATE TABLE idempotency_keys (
    account_id      BLOB NOT NULL REFERENCES accounts (account_id),
    idem_key        TEXT NOT NULL,
    request_hash    BLOB NOT NULL,
    confirmation_no TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (account_id, idem_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
