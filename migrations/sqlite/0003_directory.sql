-- The CMDB phone book (organizations, contacts with their numbers, assets) and the blocklist
-- with its audit trail. Lists (numbers, e-mails, aliases) are JSON documents: the phone book
-- is searched in memory, never by SQL over these columns. Numbers are E.164.

CREATE TABLE organizations (
    id            INTEGER PRIMARY KEY,
    external_id   TEXT    UNIQUE,
    name          TEXT    NOT NULL,
    numbers       TEXT    NOT NULL DEFAULT '[]',
    emails        TEXT    NOT NULL DEFAULT '[]',
    fax_mailboxes TEXT    NOT NULL DEFAULT '[]',
    vip           INTEGER  NOT NULL DEFAULT 0,
    priority      INTEGER  NOT NULL DEFAULT 0,
    notes         TEXT    NOT NULL DEFAULT '',
    updated_at    INTEGER  NOT NULL
);

CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    external_id     TEXT    UNIQUE,
    organization_id INTEGER  REFERENCES organizations (id) ON DELETE SET NULL,
    first_name      TEXT    NOT NULL DEFAULT '',
    last_name       TEXT    NOT NULL DEFAULT '',
    aliases         TEXT    NOT NULL DEFAULT '[]',
    numbers         TEXT    NOT NULL DEFAULT '[]',
    emails          TEXT    NOT NULL DEFAULT '[]',
    vip             INTEGER  NOT NULL DEFAULT 0,
    priority        INTEGER  NOT NULL DEFAULT 0,
    language        TEXT,
    notes           TEXT    NOT NULL DEFAULT '',
    updated_at      INTEGER  NOT NULL
);

CREATE INDEX contacts_organization ON contacts (organization_id);

CREATE TABLE assets (
    id                    INTEGER PRIMARY KEY,
    external_id           TEXT    UNIQUE,
    name                  TEXT    NOT NULL,
    kind                  TEXT    NOT NULL DEFAULT '',
    serial                TEXT    NOT NULL DEFAULT '',
    location              TEXT    NOT NULL DEFAULT '',
    owner_contact_id      INTEGER  REFERENCES contacts (id) ON DELETE SET NULL,
    owner_organization_id INTEGER  REFERENCES organizations (id) ON DELETE SET NULL,
    notes                 TEXT    NOT NULL DEFAULT '',
    updated_at            INTEGER  NOT NULL
);

CREATE INDEX assets_owner_contact ON assets (owner_contact_id);
CREATE INDEX assets_owner_organization ON assets (owner_organization_id);

CREATE TABLE blocklist (
    id          INTEGER PRIMARY KEY,
    match_kind  TEXT    NOT NULL CHECK (match_kind IN ('number', 'prefix', 'name')),
    pattern     TEXT    NOT NULL,
    direction   TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound', 'both')),
    action      TEXT    NOT NULL CHECK (action IN ('reject', 'busy', 'prompt', 'transfer')),
    action_arg  TEXT    NOT NULL DEFAULT '',
    expires_at  INTEGER,
    reason      TEXT    NOT NULL DEFAULT '',
    added_by    TEXT    NOT NULL DEFAULT '',
    hits        INTEGER  NOT NULL DEFAULT 0,
    last_hit_at INTEGER,
    created_at  INTEGER  NOT NULL
);

-- Every refused call, kept after its entry is deleted.
CREATE TABLE blocklist_audit (
    id        INTEGER PRIMARY KEY,
    entry_id  INTEGER,
    direction TEXT    NOT NULL,
    number    TEXT    NOT NULL,
    name      TEXT    NOT NULL DEFAULT '',
    call_uuid TEXT    NOT NULL DEFAULT '',
    action    TEXT    NOT NULL,
    at        INTEGER  NOT NULL
);

CREATE INDEX blocklist_audit_at ON blocklist_audit (at);
