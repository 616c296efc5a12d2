-- A change counter per district, bumped in the same transaction as any write that changes the
-- district's availability, so that every app process can tell which cached answers went stale.
CREATE TABLE availability_changes (
    district_id  INTEGER PRIMARY KEY,
    change_count BIGINT NOT NULL
);
