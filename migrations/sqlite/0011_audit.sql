-- The audit log: who changed what, when, from what to what (queues, agents, users, tokens,
-- the blocklist, phone-book records, billing rates, ticket status), and every sign-in, failed
-- sign-in and sign-out. Rows are only ever added. `before_json` and `after_json` are JSON
-- documents, NULL for a creation's before, a deletion's after or an event without state;
-- secrets are removed before a row is written (`crate::audit`). `actor` is a user name,
-- `token:NAME` for an API token, or `-` for a failed sign-in (the name tried is the target).
--
-- The list reads newest first by id (ids grow with `at`; the id is also the page cursor), so
-- each filter has an index in that order; a period is read through `at`.

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    actor_role  TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL DEFAULT '',
    before_json TEXT,
    after_json  TEXT,
    peer        TEXT
);

CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_kind ON audit_log (kind, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_target ON audit_log (target, id);
