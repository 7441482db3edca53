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
    ticket_id  BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    queue      TEXT    NOT NULL,
    starred    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    links      BIGINT  NOT NULL,
    PRIMARY KEY (ticket_id, queue)
);

CREATE INDEX ticket_queues_listed ON ticket_queues (queue, starred, created_at, ticket_id);

CREATE TABLE ticket_agents (
    ticket_id  BIGINT  NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    agent      TEXT    NOT NULL,
    starred    BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    links      BIGINT  NOT NULL,
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

-- Counts one reason for (ticket, queue) in (+1) or out (-1); a row whose count reaches zero
-- goes. The ticket's row is read FOR SHARE when a row is added, so a star changed at the same
-- time either waits for the new row and copies itself onto it or is read by it.
CREATE FUNCTION ticket_queues_count(ticket BIGINT, queue_name TEXT, delta BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF ticket IS NULL OR queue_name IS NULL THEN
        RETURN;
    END IF;
    IF delta > 0 THEN
        INSERT INTO ticket_queues AS q (ticket_id, queue, starred, created_at, links)
        SELECT t.id, queue_name, t.starred, t.created_at, delta FROM tickets t WHERE t.id = ticket
        FOR SHARE
        ON CONFLICT (ticket_id, queue) DO UPDATE SET links = q.links + delta;
    ELSE
        UPDATE ticket_queues SET links = links + delta WHERE ticket_id = ticket AND queue = queue_name;
        DELETE FROM ticket_queues WHERE ticket_id = ticket AND queue = queue_name AND links <= 0;
    END IF;
END
$$;

CREATE FUNCTION ticket_agents_count(ticket BIGINT, agent_name TEXT, delta BIGINT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF ticket IS NULL OR agent_name IS NULL THEN
        RETURN;
    END IF;
    IF delta > 0 THEN
        INSERT INTO ticket_agents AS a (ticket_id, agent, starred, created_at, links)
        SELECT t.id, agent_name, t.starred, t.created_at, delta FROM tickets t WHERE t.id = ticket
        FOR SHARE
        ON CONFLICT (ticket_id, agent) DO UPDATE SET links = a.links + delta;
    ELSE
        UPDATE ticket_agents SET links = links + delta WHERE ticket_id = ticket AND agent = agent_name;
        DELETE FROM ticket_agents WHERE ticket_id = ticket AND agent = agent_name AND links <= 0;
    END IF;
END
$$;

-- A new ticket: its own queue, and the queues of calls already pointing at its id; its queue
-- changed: counted out of the old one and into the new one; its star or creation time
-- changed: copied to its rows.
CREATE FUNCTION tickets_listed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ticket_queues (ticket_id, queue, starred, created_at, links)
        SELECT NEW.id, q.queue, NEW.starred, NEW.created_at, COUNT(*)
        FROM (
            SELECT NEW.queue AS queue WHERE NEW.queue IS NOT NULL
            UNION ALL
            SELECT c.queue FROM calls c WHERE c.ticket_id = NEW.id AND c.queue IS NOT NULL
        ) q
        GROUP BY q.queue;
        RETURN NULL;
    END IF;
    IF NEW.queue IS DISTINCT FROM OLD.queue THEN
        PERFORM ticket_queues_count(OLD.id, OLD.queue, -1);
        PERFORM ticket_queues_count(NEW.id, NEW.queue, 1);
    END IF;
    IF NEW.starred IS DISTINCT FROM OLD.starred OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        UPDATE ticket_queues SET starred = NEW.starred, created_at = NEW.created_at
        WHERE ticket_id = NEW.id;
        UPDATE ticket_agents SET starred = NEW.starred, created_at = NEW.created_at
        WHERE ticket_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_listed_rows AFTER INSERT OR UPDATE OF queue, starred, created_at ON tickets
FOR EACH ROW EXECUTE FUNCTION tickets_listed_rows();

-- A call written, moved to another queue or ticket, or deleted.
CREATE FUNCTION calls_ticket_queues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.ticket_id IS NOT DISTINCT FROM OLD.ticket_id
        AND NEW.queue IS NOT DISTINCT FROM OLD.queue THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM ticket_queues_count(OLD.ticket_id, OLD.queue, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM ticket_queues_count(NEW.ticket_id, NEW.queue, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER calls_ticket_queues AFTER INSERT OR UPDATE OF ticket_id, queue OR DELETE ON calls
FOR EACH ROW EXECUTE FUNCTION calls_ticket_queues();

-- Time booked, moved to another ticket or agent, or deleted.
CREATE FUNCTION time_entries_ticket_agents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.ticket_id IS NOT DISTINCT FROM OLD.ticket_id
        AND NEW.agent IS NOT DISTINCT FROM OLD.agent THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM ticket_agents_count(OLD.ticket_id, OLD.agent, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM ticket_agents_count(NEW.ticket_id, NEW.agent, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER time_entries_ticket_agents
AFTER INSERT OR UPDATE OF ticket_id, agent OR DELETE ON ticket_time_entries
FOR EACH ROW EXECUTE FUNCTION time_entries_ticket_agents();
