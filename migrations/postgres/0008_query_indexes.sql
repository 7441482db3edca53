-- Every filter and order the API and the agent's pop-up use has an index, so none scans the
-- calls or tickets tables as they grow (a year of a busy desk is millions of calls).

-- The pop-up's last calls of the caller (by contact, else by number), newest first, and the
-- calls list filtered by queue, agent or outcome.
CREATE INDEX calls_contact ON calls (contact_id, started_at);
CREATE INDEX calls_caller ON calls (caller_e164, started_at);
CREATE INDEX calls_queue ON calls (queue, started_at);
CREATE INDEX calls_agent ON calls (agent, started_at);
CREATE INDEX calls_outcome ON calls (outcome, started_at);
-- The tickets a queue's calls belong to (the tickets list's queue filter).
CREATE INDEX calls_queue_ticket ON calls (queue, ticket_id);

-- The tickets list: starred first, then newest first; by status; by queue; by agent.
CREATE INDEX tickets_listed ON tickets (starred, created_at, id);
CREATE INDEX tickets_status_listed ON tickets (status, starred, created_at);
CREATE INDEX tickets_queue ON tickets (queue, created_at);
CREATE INDEX ticket_time_entries_agent ON ticket_time_entries (agent, ticket_id);
