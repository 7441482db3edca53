-- The same table as PostgreSQL's 0018, for one schema on both backends. SQLite serves one
-- instance (`serve` holds an exclusive lock file next to the database), so nothing fences
-- here and the row stays as inserted.
CREATE TABLE leadership (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL,
    instance TEXT NOT NULL,
    address TEXT NOT NULL,
    backend_pid BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    since BIGINT NOT NULL
);
INSERT INTO leadership (id, epoch, instance, address, backend_pid, lease_until, since)
VALUES (1, 0, '', '', 0, 0, 0);
