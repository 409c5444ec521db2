-- A worker now sends a job's notification and acknowledges its entry in one atomic
-- step on Redis (the notification goes out only if the entry was still pending), so
-- whether a notification went out is no longer the store's to record.
ALTER TABLE worker_results DROP COLUMN notified_at;
