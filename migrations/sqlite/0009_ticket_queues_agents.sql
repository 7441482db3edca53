-- The tickets list filtered by queue or by agent, read in the list's own order (starred first,
-- then newest first) from an index that starts with the queue or the agent, so a page stops
-- reading once it is full. A ticket is in a queue when it was opened there or has a call
-- through it, and with an agent who booked time on it: several of each per ticket, so one
-- row per (ticket, queue) and per (ticket, agent), with a copy of the ticket's `starred` and
-- `created_at` (the list's order) and `links`, how many of those reasons there are (the
-- ticket itself and its calls; its time entries).
--
-- The database keeps the rows: a ticket, call or time entry written, changed or deleted
-- counts itself in or out (a row whose count reaches zero goes), and a ticket's star or
-- creation time changed is copied to its rows.

CREATE TABLE ticket_queues (
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    queue      TEXT    NOT NULL,
    starred    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    links      INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, queue)
);

CREATE INDEX ticket_queues_listed ON ticket_queues (queue, starred, created_at, ticket_id);

CREATE TABLE ticket_agents (
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    agent      TEXT    NOT NULL,
    starred    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    links      INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, agent)
);

CREATE INDEX ticket_agents_listed ON ticket_agents (agent, starred, created_at, ticket_id);

INSERT INTO ticket_queues (ticket_id, queue, starred, created_at, links)
SELECT t.id, q.queue, t.starred, t.created_at, COUNT(*)
FROM (
    SELECT id AS ticket_id, queue FROM tickets WHERE queue IS NOT NULL
    UNION ALL
    SELECT ticket_id, queue FROM calls WHERE ticket_id IS NOT NULL AND queue IS NOT NULL
) q JOIN tickets t ON t.id = q.ticket_id
GROUP BY t.id, q.queue, t.starred, t.created_at;

INSERT INTO ticket_agents (ticket_id, agent, starred, created_at, links)
SELECT t.id, e.agent, t.starred, t.created_at, COUNT(*)
FROM ticket_time_entries e JOIN tickets t ON t.id = e.ticket_id
GROUP BY t.id, e.agent, t.starred, t.created_at;

-- A new ticket: its own queue, and the queues of calls already pointing at its id.
CREATE TRIGGER tickets_queues_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO ticket_queues (ticket_id, queue, starred, created_at, links)
    SELECT NEW.id, q.queue, NEW.starred, NEW.created_at, COUNT(*)
    FROM (
        SELECT NEW.queue AS queue WHERE NEW.queue IS NOT NULL
        UNION ALL
        SELECT c.queue FROM calls c WHERE c.ticket_id = NEW.id AND c.queue IS NOT NULL
    ) q
    GROUP BY q.queue;
END;

CREATE TRIGGER tickets_queues_update AFTER UPDATE OF queue ON tickets
WHEN NEW.queue IS NOT OLD.queue
BEGIN
    UPDATE ticket_queues SET links = links - 1 WHERE ticket_id = OLD.id AND queue = OLD.queue;
    DELETE FROM ticket_queues WHERE ticket_id = OLD.id AND queue = OLD.queue AND links <= 0;
    INSERT INTO ticket_queues (ticket_id, queue, starred, created_at, links)
    SELECT NEW.id, NEW.queue, NEW.starred, NEW.created_at, 1 WHERE NEW.queue IS NOT NULL
    ON CONFLICT (ticket_id, queue) DO UPDATE SET links = links + 1;
END;

CREATE TRIGGER tickets_listed_order_update AFTER UPDATE OF starred, created_at ON tickets
WHEN NEW.starred IS NOT OLD.starred OR NEW.created_at IS NOT OLD.created_at
BEGIN
    UPDATE ticket_queues SET starred = NEW.starred, created_at = NEW.created_at
    WHERE ticket_id = NEW.id;
    UPDATE ticket_agents SET starred = NEW.starred, created_at = NEW.created_at
    WHERE ticket_id = NEW.id;
END;

CREATE TRIGGER calls_ticket_queues_insert AFTER INSERT ON calls
WHEN NEW.ticket_id IS NOT NULL AND NEW.queue IS NOT NULL
BEGIN
    INSERT INTO ticket_queues (ticket_id, queue, starred, created_at, links)
    SELECT t.id, NEW.queue, t.starred, t.created_at, 1 FROM tickets t WHERE t.id = NEW.ticket_id
    ON CONFLICT (ticket_id, queue) DO UPDATE SET links = links + 1;
END;

CREATE TRIGGER calls_ticket_queues_update AFTER UPDATE OF ticket_id, queue ON calls
WHEN NEW.ticket_id IS NOT OLD.ticket_id OR NEW.queue IS NOT OLD.queue
BEGIN
    UPDATE ticket_queues SET links = links - 1
    WHERE ticket_id = OLD.ticket_id AND queue = OLD.queue;
    DELETE FROM ticket_queues WHERE ticket_id = OLD.ticket_id AND queue = OLD.queue AND links <= 0;
    INSERT INTO ticket_queues (ticket_id, queue, starred, created_at, links)
    SELECT t.id, NEW.queue, t.starred, t.created_at, 1 FROM tickets t
    WHERE t.id = NEW.ticket_id AND NEW.queue IS NOT NULL
    ON CONFLICT (ticket_id, queue) DO UPDATE SET links = links + 1;
END;

CREATE TRIGGER calls_ticket_queues_delete AFTER DELETE ON calls
WHEN OLD.ticket_id IS NOT NULL AND OLD.queue IS NOT NULL
BEGIN
    UPDATE ticket_queues SET links = links - 1
    WHERE ticket_id = OLD.ticket_id AND queue = OLD.queue;
    DELETE FROM ticket_queues WHERE ticket_id = OLD.ticket_id AND queue = OLD.queue AND links <= 0;
END;

CREATE TRIGGER time_entries_ticket_agents_insert AFTER INSERT ON ticket_time_entries
BEGIN
    INSERT INTO ticket_agents (ticket_id, agent, starred, created_at, links)
    SELECT t.id, NEW.agent, t.starred, t.created_at, 1 FROM tickets t WHERE t.id = NEW.ticket_id
    ON CONFLICT (ticket_id, agent) DO UPDATE SET links = links + 1;
END;

CREATE TRIGGER time_entries_ticket_agents_update AFTER UPDATE OF ticket_id, agent ON ticket_time_entries
WHEN NEW.ticket_id IS NOT OLD.ticket_id OR NEW.agent IS NOT OLD.agent
BEGIN
    UPDATE ticket_agents SET links = links - 1
    WHERE ticket_id = OLD.ticket_id AND agent = OLD.agent;
    DELETE FROM ticket_agents WHERE ticket_id = OLD.ticket_id AND agent = OLD.agent AND links <= 0;
    INSERT INTO ticket_agents (ticket_id, agent, starred, created_at, links)
    SELECT t.id, NEW.agent, t.starred, t.created_at, 1 FROM tickets t WHERE t.id = NEW.ticket_id
    ON CONFLICT (ticket_id, agent) DO UPDATE SET links = links + 1;
END;

CREATE TRIGGER time_entries_ticket_agents_delete AFTER DELETE ON ticket_time_entries
BEGIN
    UPDATE ticket_agents SET links = links - 1
    WHERE ticket_id = OLD.ticket_id AND agent = OLD.agent;
    DELETE FROM ticket_agents WHERE ticket_id = OLD.ticket_id AND agent = OLD.agent AND links <= 0;
END;
