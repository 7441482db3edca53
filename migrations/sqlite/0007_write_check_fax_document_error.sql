-- /healthz writes and commits this one row (updated in place): a database that answers
-- queries but cannot store a write (disk full, read-only) is reported unhealthy.
CREATE TABLE write_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
INSERT INTO write_check (id, at) VALUES (1, 0);

-- Why a fax's document was not kept as a PDF: the file rxfax named was refused (outside
-- fax.spool_dir, not a regular file, too large, not a TIFF), unreadable or unconvertible.
ALTER TABLE faxes ADD COLUMN document_error TEXT NOT NULL DEFAULT '';
