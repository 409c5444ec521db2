-- Remote bot agents (seed 000's BotAgent), which connect to the hub with a machine key,
-- and the executions sent to them.
--
-- An agent gains the name of the machine it runs on (as its owner gave it), `active`
-- (0 once deactivated: its machine key no longer lets it in), when it last showed it
-- was alive and when it last connected (milliseconds since the epoch, NULL: never),
-- and when it last changed. Existing agents, the servers' own runners, stay active
-- and keep their status; an agent status this bosun no longer has is Disconnected.
--
-- An execution sent to a remote agent names it in `agent_id` (NULL: the local runner
-- or the queue) with the package version it runs, resolved when it was created;
-- `deliver_by` is when a Pending one fails if the agent has not acknowledged it, and
-- `delivered_at` when it did. The index finds an agent's executions by status.

ALTER TABLE agents ADD COLUMN machine_name TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN active BIGINT NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN last_heartbeat BIGINT;
ALTER TABLE agents ADD COLUMN last_connected BIGINT;
ALTER TABLE agents ADD COLUMN updated_at BIGINT;
UPDATE agents SET status = 'Disconnected' WHERE status NOT IN ('Available', 'Busy', 'Disconnected');

ALTER TABLE executions ADD COLUMN agent_id TEXT;
ALTER TABLE executions ADD COLUMN package_version TEXT;
ALTER TABLE executions ADD COLUMN deliver_by BIGINT;
ALTER TABLE executions ADD COLUMN delivered_at BIGINT;
CREATE INDEX executions_by_agent ON executions (agent_id, status);
