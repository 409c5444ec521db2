-- bosun's first schema. Times are milliseconds since the Unix epoch (BIGINT), ids are
-- text (UUIDs), JSON is text: the same SQL types read the same way on SQLite and
-- PostgreSQL. Written in SQLite's dialect; `Store::migrate` rewrites the one
-- phrase PostgreSQL spells differently (`INTEGER PRIMARY KEY AUTOINCREMENT`).

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- Executions outlive their job definition: history keeps the job's name.
CREATE TABLE executions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    job_name TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    trigger_detail TEXT,
    arguments TEXT NOT NULL,
    runner TEXT,
    pid BIGINT,
    exit_code BIGINT,
    message TEXT,
    status_message TEXT,
    progress BIGINT,
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    start_time BIGINT,
    end_time BIGINT,
    last_update BIGINT NOT NULL,
    output_log TEXT,
    error_log TEXT
);
CREATE INDEX executions_by_tenant ON executions (tenant_id, created_at, id);
CREATE INDEX executions_by_job ON executions (job_id, created_at, id);
CREATE INDEX executions_by_status ON executions (status, created_at);

CREATE TABLE execution_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    status TEXT NOT NULL,
    message TEXT
);
CREATE INDEX execution_events_by_execution ON execution_events (execution_id, id);

CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    cron TEXT,
    timezone TEXT,
    every_ms BIGINT,
    missed_policy TEXT NOT NULL,
    anchor BIGINT NOT NULL,
    next_fire BIGINT NOT NULL,
    last_fire BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE file_triggers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    directory TEXT NOT NULL,
    glob TEXT NOT NULL,
    debounce_ms BIGINT NOT NULL,
    recursive BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
