-- Two or more instances on one database: who leads, and since which takeover (issue 18).
-- One row. `epoch` grows by one at every takeover; the leader holds a session-level advisory
-- lock on the connection whose backend is `backend_pid` and renews `lease_until` (the
-- database's clock, Unix ms) while it leads. A standby that finds the lease long expired ends
-- that session (pg_terminate_backend), so the lock frees even for a frozen leader.
CREATE TABLE leadership (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL,
    instance TEXT NOT NULL,
    address TEXT NOT NULL,
    backend_pid BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    since BIGINT NOT NULL
);
INSERT INTO leadership (id, epoch, instance, address, backend_pid, lease_until, since)
VALUES (1, 0, '', '', 0, 0, 0);

-- Fencing: a session that says which epoch it writes for (`switchdesk.epoch`, set by the
-- leader's queue-state writer on every connection it takes) may write queue state only while
-- no newer leader exists. FOR SHARE orders the check against a takeover's UPDATE: either the
-- write commits before the epoch moves, or it sees the new epoch and is refused. Sessions
-- that set nothing (the API, CDR ingest, tools) are not fenced.
CREATE FUNCTION switchdesk_fence() RETURNS trigger AS $$
DECLARE
    mine TEXT := current_setting('switchdesk.epoch', true);
    newest BIGINT;
BEGIN
    IF mine IS NOT NULL AND mine <> '' THEN
        SELECT epoch INTO newest FROM leadership WHERE id = 1 FOR SHARE;
        IF newest > mine::BIGINT THEN
            RAISE EXCEPTION 'switchdesk_fenced: epoch % writes, epoch % leads', mine, newest
                USING ERRCODE = 'SDF01';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER acd_queues_fenced BEFORE INSERT OR UPDATE OR DELETE ON acd_queues
    FOR EACH ROW EXECUTE FUNCTION switchdesk_fence();
CREATE TRIGGER acd_agents_fenced BEFORE INSERT OR UPDATE OR DELETE ON acd_agents
    FOR EACH ROW EXECUTE FUNCTION switchdesk_fence();
CREATE TRIGGER acd_callbacks_fenced BEFORE INSERT OR UPDATE OR DELETE ON acd_callbacks
    FOR EACH ROW EXECUTE FUNCTION switchdesk_fence();
