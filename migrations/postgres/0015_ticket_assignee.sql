-- Who works a ticket: the agent who answered its first call, or whoever opened it by hand,
-- until somebody reassigns it (NULL: nobody yet, as for a missed call's callback). The list
-- by assignee is read in its own order (starred first, then newest first) from its index.
ALTER TABLE tickets ADD COLUMN assignee TEXT;

UPDATE tickets SET assignee = (
    SELECT c.agent FROM calls c
    WHERE c.ticket_id = tickets.id AND c.outcome = 'answered' AND c.agent IS NOT NULL
    ORDER BY c.started_at, c.id LIMIT 1
);

CREATE INDEX tickets_assignee ON tickets (assignee, starred, created_at, id);

-- A ticket made of calls was created when the customer called: the start of its first call,
-- not when that call's CDR was filed (the ticket's SLA deadlines stay as they were set). No
-- response or resolution is earlier than the creation.
UPDATE tickets SET created_at = (SELECT MIN(c.started_at) FROM calls c WHERE c.ticket_id = tickets.id)
WHERE kind <> 'manual'
  AND (SELECT MIN(c.started_at) FROM calls c WHERE c.ticket_id = tickets.id) < created_at;

UPDATE tickets SET first_response_at = created_at WHERE first_response_at < created_at;
UPDATE tickets SET resolved_at = created_at WHERE resolved_at < created_at;
