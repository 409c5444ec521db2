-- What `bosun worker` did with each job it read from Redis, kept by the job's id: a
-- redelivered job whose result is here is acknowledged, not run again, and notified
-- if the notification was not sent yet.
CREATE TABLE worker_results (
    job_id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    stream TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    succeeded BIGINT NOT NULL,
    output TEXT NOT NULL,
    consumer TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    notified_at BIGINT
);
