-- The call-queue engine's durable state: queue and agent settings (as JSON documents, written
-- by the API and seeded from switchdesk.toml), each agent's status and totals, and callbacks
-- that keep a caller's place across a restart.

CREATE TABLE acd_queues (
    name       TEXT    PRIMARY KEY,
    config     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE acd_agents (
    name         TEXT    PRIMARY KEY,
    config       TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'logged_out',
    break_reason TEXT    NOT NULL DEFAULT '',
    calls        INTEGER NOT NULL DEFAULT 0,
    talk_ms      INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE acd_callbacks (
    id          TEXT    PRIMARY KEY,
    queue       TEXT    NOT NULL,
    number      TEXT    NOT NULL,
    enqueued_at INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'reached', 'failed')),
    updated_at  INTEGER NOT NULL
);

CREATE INDEX acd_callbacks_state ON acd_callbacks (state);
