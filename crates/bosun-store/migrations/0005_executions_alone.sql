-- An execution created under duplicatePolicy "skip" must be its job's only active one.
-- `alone` marks it, and a partial unique index keeps at most one such execution of a
-- job Pending or Running: whatever the engine, and however many servers create
-- executions at once, the second insert finds the first (waiting for it to commit on
-- PostgreSQL) and is refused.
ALTER TABLE executions ADD COLUMN alone BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX executions_alone_per_job ON executions (job_id)
    WHERE alone = 1 AND status IN ('Pending', 'Running');
