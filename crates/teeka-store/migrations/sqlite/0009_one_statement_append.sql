-- Leaves from here on leave out their sequence number (the leaf's place in the tree already binds
-- it), so an entry's leaf hash is known before its number and the append is one statement. Leaves
-- written before keep the first format: remember where it ends, once, for the verifier.
CREATE TABLE ledger_leaf_formats (
    only_row   INTEGER PRIMARY KEY CHECK (only_row = 1),
    v1_through INTEGER NOT NULL
);
INSERT INTO ledger_leaf_formats (only_row, v1_through)
    SELECT 1, COALESCE(MAX(seq), 0) FROM ledger_leaves;
CREATE TRIGGER ledger_leaf_formats_fixed BEFORE UPDATE ON ledger_leaf_formats
BEGIN
    SELECT RAISE(ABORT, 'ledger_leaf_formats is fixed');
END;
CREATE TRIGGER ledger_leaf_formats_kept BEFORE DELETE ON ledger_leaf_formats
BEGIN
    SELECT RAISE(ABORT, 'ledger_leaf_formats is fixed');
END;

-- The one write path for an access event: an insert here takes the next gap-free number (the
-- caller's BEGIN IMMEDIATE holds the only write lock) and writes the leaf and the event together.
CREATE VIEW ledger_append (at, actor_kind, actor_id, role, action, subject_id, purpose, request_id, leaf_hash) AS
    SELECT at, actor_kind, actor_id, role, action, subject_id, purpose, request_id, NULL
    FROM access_events WHERE 0;
CREATE TRIGGER ledger_append_insert INSTEAD OF INSERT ON ledger_append
BEGIN
    INSERT INTO ledger_leaves (seq, leaf_hash)
        SELECT COALESCE(MAX(seq), 0) + 1, NEW.leaf_hash FROM ledger_leaves;
    INSERT INTO access_events (seq, at, actor_kind, actor_id, role, action, subject_id, purpose, request_id)
        SELECT MAX(seq), NEW.at, NEW.actor_kind, NEW.actor_id, NEW.role, NEW.action, NEW.subject_id,
               NEW.purpose, NEW.request_id
        FROM ledger_leaves;
END;
