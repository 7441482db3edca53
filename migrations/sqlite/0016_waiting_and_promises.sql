-- Callers waiting over time, and the expected waits callers were told.
--
-- queue_intervals gains the live callers' waiting time in each interval (caller-milliseconds
-- on hold, summed like the other columns: divided by the interval's length it is the average
-- number waiting) and the most callers waiting at once (kept as a maximum).
--
-- wait_promises holds one row per answered caller who had been told an expected wait: the
-- first one they heard in the queue (told_at, promised_ms: the announced whole minutes) and
-- when an agent answered them (answered_at). A median cannot be added up from intervals, so
-- the report reads the pairs of its period (by answered_at) and takes the median there.

ALTER TABLE queue_intervals ADD COLUMN waiting_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queue_intervals ADD COLUMN peak_waiting BIGINT NOT NULL DEFAULT 0;

CREATE TABLE wait_promises (
    queue       TEXT    NOT NULL,
    call_uuid   TEXT    NOT NULL,
    told_at     BIGINT  NOT NULL,
    promised_ms BIGINT  NOT NULL,
    answered_at BIGINT  NOT NULL,
    PRIMARY KEY (queue, call_uuid, told_at)
);

CREATE INDEX wait_promises_answered ON wait_promises (answered_at);
