-- A change of an export job NOTIFYs only if some API node follows the job (a live row in
-- export_job_watches, kept by server/stores/pg/export-job-watches.ts). A NOTIFY takes
-- PostgreSQL's one notify lock from the commit until after its WAL flush, so on a durable
-- cluster every notifying commit waits for the one before it: with a NOTIFY per claim and
-- outcome, runners on every node would take turns on that lock for jobs nobody follows.
-- No change is missed between a follow and the node's read after it: the follow takes a
-- share lock on the job's row, so it commits after any change already writing the row (which
-- that read then sees), and a change that writes the row later waits for the follow's commit,
-- and this lookup, with a snapshot of its own (PL/pgSQL in READ COMMITTED), sees its row.
-- A row past its expiry (its node died) counts for nothing; times are the database's clock.
CREATE OR REPLACE FUNCTION notepad_export_job_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (
		SELECT 1 FROM export_job_watches
		WHERE rid = NEW.rid AND expires_at > (extract(epoch FROM statement_timestamp()) * 1000)::bigint
	) THEN
		PERFORM pg_notify('notepad_export_job_changes', NEW.rid || ':' || NEW.version);
	END IF;
	RETURN NULL;
END;
$$;
