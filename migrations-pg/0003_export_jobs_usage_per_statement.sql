-- Inserted export jobs count towards their users' active_export_jobs once per statement, not
-- once per row: a create batch (server/stores/pg/export-create-batch.ts) inserts many jobs of
-- one user in one statement, and a row trigger updated that user's user_usage row once per
-- job (a new row version and a WAL record each, and a trigger call each). A statement trigger
-- with a transition table adds each user's count in one update. Status changes and deletes
-- stay row-level (notepad_export_jobs_usage): PostgreSQL gives transition tables only to
-- triggers of one event, and an UPDATE trigger with one cannot name its columns.
CREATE FUNCTION notepad_export_jobs_inserted_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO user_usage (user_id, active_export_jobs)
	SELECT creator_id, count(*) FROM inserted_export_jobs WHERE status = 'running' GROUP BY creator_id ORDER BY creator_id
	ON CONFLICT (user_id) DO UPDATE SET active_export_jobs = user_usage.active_export_jobs + excluded.active_export_jobs;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
DROP TRIGGER export_jobs_usage ON export_jobs;
--> statement-breakpoint
CREATE TRIGGER export_jobs_usage AFTER DELETE OR UPDATE OF status ON export_jobs
FOR EACH ROW EXECUTE FUNCTION notepad_export_jobs_usage();
--> statement-breakpoint
CREATE TRIGGER export_jobs_inserted_usage AFTER INSERT ON export_jobs
REFERENCING NEW TABLE AS inserted_export_jobs
FOR EACH STATEMENT EXECUTE FUNCTION notepad_export_jobs_inserted_usage();
