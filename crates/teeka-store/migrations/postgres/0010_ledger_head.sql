-- The ledger's last number lives in one row. An append takes the next number by updating that row
-- inside its own statement, and the row stays locked until the appender's transaction ends: the
-- numbers stay gap-free and in commit order, with no separate lock call. The update also looks at
-- the last leaf (an index lookup), so a head that fell behind (a server from before this
-- migration still appending during a rolling upgrade) cannot hand out a number twice: at worst
-- such an append collides on the leaf's key and fails, closed. Code that must see a stable ledger
-- (checkpoints, the leaf backfill) locks the same row.
-- The ledger lock of the servers before this one, so none of them appends while the head is read.
SELECT pg_advisory_xact_lock(127978842054915);
CREATE TABLE ledger_head (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    last_seq BIGINT NOT NULL
);
INSERT INTO ledger_head (only_row, last_seq)
    SELECT 1, COALESCE(MAX(seq), 0) FROM ledger_leaves;
-- Without its row every append would find no number; an append then fails on the leaf's NOT NULL
-- key rather than skip its entry, and the row cannot be deleted or truncated away.
CREATE FUNCTION ledger_head_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_head keeps its one row';
END;
$$;
CREATE TRIGGER ledger_head_kept BEFORE DELETE ON ledger_head
    FOR EACH ROW EXECUTE FUNCTION ledger_head_kept();
CREATE TRIGGER ledger_head_not_truncated BEFORE TRUNCATE ON ledger_head
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_head_kept();
