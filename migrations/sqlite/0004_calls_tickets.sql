-- Calls as FreeSWITCH's mod_xml_cdr reported them, and the tickets made of them.
--
-- Every leg's CDR is kept as received (`cdr_legs.document`), keyed by the leg's UUID so a CDR
-- posted again changes nothing. `calls` is one row per call (keyed by the caller leg's UUID),
-- rebuilt from its legs whenever one arrives. Money is integer cents; times are Unix ms.

CREATE TABLE cdr_legs (
    uuid          TEXT    PRIMARY KEY,
    call_id       TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('caller', 'agent', 'customer', 'other')),
    core_uuid     TEXT    NOT NULL DEFAULT '',
    summary       TEXT    NOT NULL,
    document      TEXT    NOT NULL,
    received_at   INTEGER NOT NULL
);

CREATE INDEX cdr_legs_call ON cdr_legs (call_id);

CREATE TABLE calls (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    caller_number   TEXT    NOT NULL DEFAULT '',
    caller_e164     TEXT,
    caller_name     TEXT    NOT NULL DEFAULT '',
    destination     TEXT    NOT NULL DEFAULT '',
    queue           TEXT,
    agent           TEXT,
    started_at      INTEGER NOT NULL,
    answered_at     INTEGER,
    ended_at        INTEGER NOT NULL,
    wait_secs       INTEGER NOT NULL DEFAULT 0,
    talk_secs       INTEGER NOT NULL DEFAULT 0,
    hangup_cause    TEXT    NOT NULL DEFAULT '',
    recording       TEXT,
    identified      TEXT    NOT NULL DEFAULT 'unknown',
    contact_id      INTEGER,
    organization_id INTEGER,
    vip             INTEGER NOT NULL DEFAULT 0,
    ticket_id       INTEGER,
    updated_at      INTEGER NOT NULL
);

CREATE INDEX calls_started ON calls (started_at);
CREATE INDEX calls_ticket ON calls (ticket_id);
CREATE INDEX calls_organization ON calls (organization_id, started_at);

CREATE TABLE tickets (
    id                      INTEGER PRIMARY KEY,
    subject                 TEXT    NOT NULL,
    status                  TEXT    NOT NULL CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed')),
    priority                INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 3),
    starred                 INTEGER NOT NULL DEFAULT 0,
    kind                    TEXT    NOT NULL,
    organization_id         INTEGER REFERENCES organizations (id) ON DELETE SET NULL,
    contact_id              INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    caller_number           TEXT    NOT NULL DEFAULT '',
    unidentified            INTEGER NOT NULL DEFAULT 0,
    queue                   TEXT,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    last_call_at            INTEGER,
    first_response_due      INTEGER,
    first_response_at       INTEGER,
    resolution_due          INTEGER,
    resolved_at             INTEGER,
    first_response_breached INTEGER NOT NULL DEFAULT 0,
    resolution_breached     INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX tickets_status ON tickets (status);
CREATE INDEX tickets_caller ON tickets (caller_number, status);
CREATE INDEX tickets_contact ON tickets (contact_id, status);
CREATE INDEX tickets_organization ON tickets (organization_id, created_at);
CREATE INDEX tickets_created ON tickets (created_at);

-- Time spent on a ticket: one row per answered agent leg, with the rate it was costed at, so a
-- later rate change never rewrites history.
CREATE TABLE ticket_time_entries (
    id                INTEGER PRIMARY KEY,
    ticket_id         INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    call_id           TEXT,
    leg_uuid          TEXT    UNIQUE,
    agent             TEXT    NOT NULL,
    queue             TEXT,
    seconds           INTEGER NOT NULL,
    hourly_rate_cents INTEGER NOT NULL,
    cost_cents        INTEGER NOT NULL,
    at                INTEGER NOT NULL
);

CREATE INDEX ticket_time_entries_ticket ON ticket_time_entries (ticket_id);
CREATE INDEX ticket_time_entries_at ON ticket_time_entries (at);

CREATE TABLE ticket_notes (
    id        INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author    TEXT    NOT NULL,
    body      TEXT    NOT NULL,
    at        INTEGER NOT NULL
);

CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id);

CREATE TABLE agent_rates (
    agent             TEXT    PRIMARY KEY,
    hourly_rate_cents INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE organization_fees (
    organization_id   INTEGER PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    monthly_fee_cents INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

-- Ticket changes for an external helpdesk, written in the same transaction as the change and
-- delivered (with retries) by a worker.
CREATE TABLE webhook_outbox (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER NOT NULL,
    event           TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at);
