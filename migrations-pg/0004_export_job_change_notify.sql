-- Every change of what an export job answers moves its version on (server/jobs/pg-store.ts,
-- server/stores/pg/exports.ts). This trigger tells the API nodes at once: a NOTIFY on
-- notepad_export_job_changes with "rid:version", delivered when the change commits, so a node
-- whose clients follow a job run by another node's runner reads it then, not at its next
-- poll (server/services/export-job-watchers.ts). A hint: the poll stays the guarantee.
CREATE FUNCTION notepad_export_job_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('notepad_export_job_changes', NEW.rid || ':' || NEW.version);
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER export_jobs_changed AFTER UPDATE OF version ON export_jobs
FOR EACH ROW WHEN (NEW.version <> OLD.version) EXECUTE FUNCTION notepad_export_job_changed();
