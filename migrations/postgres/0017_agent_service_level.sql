-- Each agent interval counts the calls the agent answered within their queue's service-level
-- threshold (beside calls_answered), so a report can show the agent's share of the service
-- level. Rows written before this migration count none (0): their figure reads 0 %.

ALTER TABLE agent_intervals ADD COLUMN answered_within_sl BIGINT NOT NULL DEFAULT 0;
