-- The ledger's last number lives in one row. An append takes the next number by updating that row
-- inside its own statement, and the row stays locked until the appender's transaction ends: the
-- numbers stay gap-free and in commit order, with no separate lock call and no MAX(seq) scan.
-- Code that must see a stable ledger (checkpoints, the leaf backfill) locks the same row.
CREATE TABLE ledger_head (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    last_seq BIGINT NOT NULL
);
INSERT INTO ledger_head (only_row, last_seq)
    SELECT 1, COALESCE(MAX(seq), 0) FROM ledger_leaves;
