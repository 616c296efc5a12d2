-- The access ledger as a Merkle log (RFC 9162): one leaf hash per access event, kept apart
-- from the event's details so retention can drop old details while the tree stays whole; the
-- signed checkpoints (C2SP tlog-checkpoint notes); and the indexes the citizen's access history
-- and the breach report read by.
CREATE TABLE ledger_leaves (
    seq       BIGINT PRIMARY KEY,
    leaf_hash BYTEA NOT NULL CHECK (length(leaf_hash) = 32)
);

CREATE TABLE ledger_checkpoints (
    checkpoint_id BIGSERIAL PRIMARY KEY,
    tree_size     BIGINT NOT NULL,
    root_hash     BYTEA NOT NULL,
    note          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX ledger_checkpoints_by_size ON ledger_checkpoints (tree_size);

CREATE INDEX access_events_by_actor ON access_events (actor_id, at);

-- Retention: event details older than the window may be removed, by the prune use case only,
-- which sets the window in its own transaction. Leaves are never removed.
CREATE TABLE ledger_prune_window (
    only_row  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    before_ms BIGINT NOT NULL
);
INSERT INTO ledger_prune_window (before_ms) VALUES (0);

DROP TRIGGER access_events_append_only ON access_events;
CREATE FUNCTION access_events_retention_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < (SELECT before_ms FROM ledger_prune_window) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'access_events is append-only';
END;
$$;
CREATE TRIGGER access_events_append_only BEFORE UPDATE OR DELETE ON access_events
    FOR EACH ROW EXECUTE FUNCTION access_events_retention_only();

CREATE FUNCTION ledger_leaves_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_leaves is append-only';
END;
$$;
CREATE TRIGGER ledger_leaves_append_only BEFORE UPDATE OR DELETE ON ledger_leaves
    FOR EACH ROW EXECUTE FUNCTION ledger_leaves_append_only();
