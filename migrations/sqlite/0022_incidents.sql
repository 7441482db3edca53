-- Incidents from monitoring (issue 19). An alarm (Zabbix, Alertmanager) about a host opens or
-- updates an incident for the organization owning the host's CMDB asset, matched by the
-- asset's name or its new `address` (IP or DNS name). Each incident is a ticket
-- (`ticket_id`); `condition_key` is what flapping folds by (a Zabbix trigger on a host, an
-- Alertmanager fingerprint), `incident_alarms` the problem events already folded (a repeated
-- delivery changes nothing). `due_at` is the running timer (to be taken while `open`, to be
-- resolved while `taken`); `incident_steps` is the history the reports read.
ALTER TABLE assets ADD COLUMN address TEXT NOT NULL DEFAULT '';
CREATE INDEX assets_address ON assets (address);
CREATE INDEX assets_name_lower ON assets (lower(name));

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL CHECK (source IN ('zabbix', 'alertmanager')),
    condition_key   TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    organization_id INTEGER    REFERENCES organizations (id) ON DELETE SET NULL,
    asset_id        INTEGER    REFERENCES assets (id) ON DELETE SET NULL,
    ticket_id       INTEGER    NOT NULL REFERENCES tickets (id),
    status          TEXT    NOT NULL CHECK (status IN ('open', 'taken', 'resolved')),
    line            INTEGER    NOT NULL DEFAULT 1 CHECK (line BETWEEN 1 AND 3),
    occurrences     INTEGER    NOT NULL DEFAULT 1,
    opened_at       INTEGER    NOT NULL,
    taken_at        INTEGER,
    taken_by        TEXT,
    resolved_at     INTEGER,
    resolved_by     TEXT,
    due_at          INTEGER,
    updated_at      INTEGER    NOT NULL
);
CREATE INDEX incidents_condition ON incidents (condition_key, id);
CREATE INDEX incidents_status ON incidents (status, organization_id);
CREATE INDEX incidents_due ON incidents (due_at);
CREATE INDEX incidents_opened ON incidents (opened_at);

CREATE TABLE incident_alarms (
    event_key   TEXT    PRIMARY KEY,
    incident_id INTEGER    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          INTEGER    NOT NULL
);
CREATE INDEX incident_alarms_incident ON incident_alarms (incident_id);

CREATE TABLE incident_steps (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('opened', 'updated', 'reopened', 'taken', 'escalated', 'overdue', 'resolved')),
    by_whom     TEXT    NOT NULL,
    line        INTEGER    NOT NULL,
    at          INTEGER    NOT NULL
);
CREATE INDEX incident_steps_incident ON incident_steps (incident_id, at);
