-- The same table as PostgreSQL's 0020, for one schema on both backends. SQLite serves one
-- instance, which has no standby to publish its view to; the row stays as inserted.
CREATE TABLE live_view (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    epoch BIGINT NOT NULL,
    instance TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
INSERT INTO live_view (id, version, epoch, instance, published_at, body)
VALUES (1, 0, 0, '', 0, '');
