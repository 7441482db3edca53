-- Every filter and order the API and the agent's pop-up use has an index, so none scans the
-- calls or tickets tables as they grow (a year of a busy desk is millions of calls).

-- The pop-up's last calls of the caller (by contact, else by number), newest first, and the
-- calls list filtered by queue, agent or outcome.
CREATE INDEX calls_contact ON calls (contact_id, started_at);
CREATE INDEX calls_caller ON calls (caller_e164, started_at);
CREATE INDEX calls_queue ON calls (queue, started_at);
CREATE INDEX calls_agent ON calls (agent, started_at);
CREATE INDEX calls_outcome ON calls (outcome, started_at);
-- The tickets list reads tickets in its own order (starred first, then newest first) and
-- stops at the page: one index for everything ("open" and the queue and agent filters are
-- checked per ticket read, the last two through the ticket's calls and time entries), one
-- per status.
CREATE INDEX tickets_listed ON tickets (starred, created_at, id);
CREATE INDEX tickets_status_listed ON tickets (status, starred, created_at, id);
CREATE INDEX calls_ticket_queue ON calls (ticket_id, queue);
CREATE INDEX ticket_time_entries_ticket_agent ON ticket_time_entries (ticket_id, agent);
