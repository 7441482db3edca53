-- Caller ratings: the key 1-5 a caller pressed in the survey after a call (queues with
-- `survey = true`). A call carries it from its caller leg's `switchdesk_rating`; a ticket carries
-- its latest rated call's, and `low_rating` flags the ticket for a manager when that rating was
-- at or below `[tickets] low_rating` (a manager clears it). Rows stored before carry none.
-- The ratings report reads the rated calls of a period from their own partial index.
ALTER TABLE calls ADD COLUMN rating BIGINT CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE tickets ADD COLUMN rating BIGINT CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE tickets ADD COLUMN low_rating BIGINT NOT NULL DEFAULT 0;

CREATE INDEX calls_rated ON calls (started_at) WHERE rating IS NOT NULL;
