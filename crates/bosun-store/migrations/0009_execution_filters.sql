-- The executions list filters by agent (NULL: the server's own runner), by package
-- and by trigger kind, newest first, a page at a time. Without an index of its own,
-- a filter that matches few of a tenant's executions walks all of them (100,000
-- rows: a quarter of a second on SQLite); with one, each engine reads only the page.
-- The package index holds only executions that name a package (those sent to
-- agents), which both engines use for `package_id = $n`.
CREATE INDEX executions_by_agent_time ON executions (tenant_id, agent_id, created_at, id);
CREATE INDEX executions_by_trigger ON executions (tenant_id, trigger_kind, created_at, id);
CREATE INDEX executions_by_package ON executions (package_id, created_at, id)
    WHERE package_id IS NOT NULL;
-- A status filter walks only its status's rows (without this, SQLite takes the
-- tenant's index and reads every row of a status with few: 140 ms at 100,000), and
-- the counts by status (the dashboard's overview) read only this index, never the
-- rows (~15 ms at 100,000 instead of ~90).
CREATE INDEX executions_by_tenant_status ON executions (tenant_id, status, created_at, id);
