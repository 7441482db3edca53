-- The leader's live view for its standbys (issue 18): one row holding what the leader's
-- switchboard shows (queues with their waiting callers in order, agents, callers'
-- identifications, the latest updates) as JSON, republished at most every 250 ms while it
-- changes. `version` grows with every publication, across takeovers; a standby reads the row
-- when its version moved and serves it until it leads itself. Written through the fenced
-- pool: an old leader cannot overwrite a newer leader's view.
CREATE TABLE live_view (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    epoch BIGINT NOT NULL,
    instance TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
INSERT INTO live_view (id, version, epoch, instance, published_at, body)
VALUES (1, 0, 0, '', 0, '');

CREATE TRIGGER live_view_fenced BEFORE INSERT OR UPDATE OR DELETE ON live_view
    FOR EACH ROW EXECUTE FUNCTION switchdesk_fence();
