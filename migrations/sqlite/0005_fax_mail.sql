-- Fax to e-mail: received faxes, the documents they produced, and the durable outbox.
-- Documents live in the database (`files.content`), so a mail can be sent, and a download
-- link answered, by any process that reaches the database: nothing depends on a local disk.
-- A fax is recorded once per call UUID; a mail once per dedupe key.

CREATE TABLE files (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    content      BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE faxes (
    call_uuid      TEXT    PRIMARY KEY,
    direction      TEXT    NOT NULL,
    did            TEXT    NOT NULL,
    caller_number  TEXT    NOT NULL DEFAULT '',
    caller_name    TEXT    NOT NULL DEFAULT '',
    pages          INTEGER NOT NULL DEFAULT 0,
    success        INTEGER NOT NULL,
    result_code    INTEGER,
    result_text    TEXT    NOT NULL DEFAULT '',
    remote_station TEXT    NOT NULL DEFAULT '',
    tiff_path      TEXT    NOT NULL DEFAULT '',
    pdf_file_id    INTEGER REFERENCES files (id) ON DELETE SET NULL,
    received_at    INTEGER NOT NULL
);

CREATE INDEX faxes_received_at ON faxes (received_at);

CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    dedupe_key         TEXT    NOT NULL UNIQUE,
    recipients         TEXT    NOT NULL,
    subject            TEXT    NOT NULL,
    body               TEXT    NOT NULL,
    attachment_file_id INTEGER REFERENCES files (id) ON DELETE SET NULL,
    state              TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    last_error         TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    sent_at            INTEGER
);

CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
