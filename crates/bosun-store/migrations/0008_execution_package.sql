-- The package an execution sent to a remote agent runs, by id: a job that names an
-- agent keeps its own id in `job_id` (its duplicate policy and history stay the
-- job's), so the package it runs needs a column of its own. NULL: the local runner's,
-- or one sent before this column existed, whose `job_id` is the package's.
ALTER TABLE executions ADD COLUMN package_id TEXT;
