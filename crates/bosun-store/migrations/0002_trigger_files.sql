-- File triggers remember which file versions they fired for, so a restart (or a
-- second server) never starts a job twice for one file, and say what to do about
-- files that arrived while nothing watched: 'run-all' or 'skip'.
ALTER TABLE file_triggers ADD COLUMN missed_policy TEXT NOT NULL DEFAULT 'run-all';

CREATE TABLE trigger_files (
    trigger_id TEXT NOT NULL REFERENCES file_triggers (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    modified BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (trigger_id, path, modified)
);
