-- The access ledger as a Merkle log (RFC 9162): one leaf hash per access event, kept apart
-- from the event's details so retention can drop old details while the tree stays whole; the
-- signed checkpoints (C2SP tlog-checkpoint notes); and the indexes the citizen's access history
-- and the breach report read by.
CREATE TABLE ledger_leaves (
    seq       INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32)
);

CREATE TABLE ledger_checkpoints (
    checkpoint_id INTEGER PRIMARY KEY AUTOINCREMENT,
    tree_size     INTEGER NOT NULL,
    root_hash     BLOB NOT NULL,
    note          TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX ledger_checkpoints_by_size ON ledger_checkpoints (tree_size);

CREATE INDEX access_events_by_actor ON access_events (actor_id, at);

-- Retention: event details older than the window may be removed, by the prune use case only,
-- which sets the window in its own transaction. Leaves are never removed.
CREATE TABLE ledger_prune_window (
    only_row  INTEGER PRIMARY KEY CHECK (only_row = 1),
    before_ms INTEGER NOT NULL
);
INSERT INTO ledger_prune_window (only_row, before_ms) VALUES (1, 0);

DROP TRIGGER access_events_no_delete;
CREATE TRIGGER access_events_no_delete BEFORE DELETE ON access_events
    WHEN OLD.at >= (SELECT before_ms FROM ledger_prune_window)
BEGIN
    SELECT RAISE(ABORT, 'access_events is append-only');
END;

CREATE TRIGGER ledger_leaves_no_update BEFORE UPDATE ON ledger_leaves
BEGIN
    SELECT RAISE(ABORT, 'ledger_leaves is append-only');
END;
CREATE TRIGGER ledger_leaves_no_delete BEFORE DELETE ON ledger_leaves
BEGIN
    SELECT RAISE(ABORT, 'ledger_leaves is append-only');
END;
