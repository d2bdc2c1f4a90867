-- A change of an export job NOTIFYs only if some API node follows the job (a row in
-- export_job_watches, kept by server/stores/pg/export-job-watches.ts). A NOTIFY takes
-- PostgreSQL's one notify lock from the commit until after its WAL flush, so on a durable
-- cluster every notifying commit waits for the one before it: with a NOTIFY per claim and
-- outcome, runners on every node would take turns on that lock for jobs nobody follows.
-- The lookup takes a snapshot of its own (PL/pgSQL in READ COMMITTED), so a follow committed
-- before the writer's statement ends is seen; the node reads the job once its follow has
-- committed, which sees any change committed before that read; what commits in between
-- (a writer whose lookup ran just before the follow committed) is left to the poll.
CREATE OR REPLACE FUNCTION notepad_export_job_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM export_job_watches WHERE rid = NEW.rid) THEN
		PERFORM pg_notify('notepad_export_job_changes', NEW.rid || ':' || NEW.version);
	END IF;
	RETURN NULL;
END;
$$;
