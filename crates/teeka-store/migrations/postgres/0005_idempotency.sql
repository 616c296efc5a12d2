-- Idempotency keys: a retried booking with the same `Idempotency-Key` gets the first answer.
-- The key is recorded in the booking's own transaction, so a key exists exactly when its
-- booking does; the request hash tells a true retry from a key reused for another request.
CREATE TABLE idempotency_keys (
    account_id      UUID NOT NULL REFERENCES accounts (account_id),
    idem_key        TEXT NOT NULL,
    request_hash    BYTEA NOT NULL,
    confirmation_no TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (account_id, idem_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
