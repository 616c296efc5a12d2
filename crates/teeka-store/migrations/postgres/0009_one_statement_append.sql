-- Leaves from here on leave out their sequence number (the leaf's place in the tree already binds
-- it), so an entry's leaf hash is known before its number and the append is one statement. Leaves
-- written before keep the first format: remember where it ends, once, for the verifier.
CREATE TABLE ledger_leaf_formats (
    only_row   INTEGER PRIMARY KEY CHECK (only_row = 1),
    v1_through BIGINT NOT NULL
);
INSERT INTO ledger_leaf_formats (only_row, v1_through)
    SELECT 1, COALESCE(MAX(seq), 0) FROM ledger_leaves;
CREATE FUNCTION ledger_leaf_formats_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_leaf_formats is fixed';
END;
$$;
CREATE TRIGGER ledger_leaf_formats_fixed BEFORE UPDATE OR DELETE ON ledger_leaf_formats
    FOR EACH ROW EXECUTE FUNCTION ledger_leaf_formats_fixed();
