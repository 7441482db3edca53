-- Queue and agent statistics in intervals (15 minutes unless [stats] says otherwise): one row
-- per queue or agent and interval start (Unix ms), each write adding a delta to the row
-- (INSERT ... ON CONFLICT DO UPDATE), so the recorder's flushes and a restarted process's add
-- up. Reports roll these rows up; the wallboard's "today" is their sum since the day's start.

CREATE TABLE queue_intervals (
    queue                  TEXT    NOT NULL,
    interval_start         BIGINT  NOT NULL,
    offered                BIGINT  NOT NULL DEFAULT 0,
    answered               BIGINT  NOT NULL DEFAULT 0,
    abandoned              BIGINT  NOT NULL DEFAULT 0,
    short_abandoned        BIGINT  NOT NULL DEFAULT 0,
    overflowed             BIGINT  NOT NULL DEFAULT 0,
    moved                  BIGINT  NOT NULL DEFAULT 0,
    callbacks              BIGINT  NOT NULL DEFAULT 0,
    exited                 BIGINT  NOT NULL DEFAULT 0,
    answered_within_sl     BIGINT  NOT NULL DEFAULT 0,
    abandoned_within_sl    BIGINT  NOT NULL DEFAULT 0,
    wait_answered_ms       BIGINT  NOT NULL DEFAULT 0,
    wait_abandoned_ms      BIGINT  NOT NULL DEFAULT 0,
    longest_wait_answered_ms BIGINT NOT NULL DEFAULT 0,
    calls_ended            BIGINT  NOT NULL DEFAULT 0,
    talk_ms                BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, interval_start)
);

CREATE INDEX queue_intervals_start ON queue_intervals (interval_start);

CREATE TABLE agent_intervals (
    agent          TEXT    NOT NULL,
    interval_start BIGINT  NOT NULL,
    calls_answered BIGINT  NOT NULL DEFAULT 0,
    talk_ms        BIGINT  NOT NULL DEFAULT 0,
    login_ms       BIGINT  NOT NULL DEFAULT 0,
    available_ms   BIGINT  NOT NULL DEFAULT 0,
    ringing_ms     BIGINT  NOT NULL DEFAULT 0,
    in_call_ms     BIGINT  NOT NULL DEFAULT 0,
    wrap_up_ms     BIGINT  NOT NULL DEFAULT 0,
    break_ms       BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (agent, interval_start)
);

CREATE INDEX agent_intervals_start ON agent_intervals (interval_start);
