-- user_usage (db/pg/schema.ts) kept by the database itself, as SQLite's triggers keep it
-- (migrations/0003_user_usage_triggers.sql, which says what counts): every insert, status or
-- content change and delete of a job or file adjusts its user's row in the same
-- transaction. PL/pgSQL trigger functions, PostgreSQL 11+ syntax (EXECUTE FUNCTION).
-- Stored bytes of generated content are the octet_length of its JSON text (a `json` column
-- keeps the text as written, as SQLite's text column does).
CREATE FUNCTION notepad_export_jobs_usage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	delta integer;
BEGIN
	IF TG_OP = 'INSERT' THEN
		delta := (NEW.status = 'running')::integer;
	ELSIF TG_OP = 'UPDATE' THEN
		delta := (NEW.status = 'running')::integer - (OLD.status = 'running')::integer;
	ELSE
		delta := -(OLD.status = 'running')::integer;
	END IF;
	IF delta = 0 THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'DELETE' THEN
		UPDATE user_usage SET active_export_jobs = active_export_jobs + delta WHERE user_id = OLD.creator_id;
	ELSE
		INSERT INTO user_usage (user_id, active_export_jobs) VALUES (NEW.creator_id, delta)
		ON CONFLICT (user_id) DO UPDATE SET active_export_jobs = user_usage.active_export_jobs + excluded.active_export_jobs;
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER export_jobs_usage AFTER INSERT OR DELETE OR UPDATE OF status ON export_jobs
FOR EACH ROW EXECUTE FUNCTION notepad_export_jobs_usage();
--> statement-breakpoint
CREATE FUNCTION notepad_generation_jobs_usage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	active_delta integer := 0;
	bytes_delta bigint := 0;
BEGIN
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		active_delta := (NEW.status = 'running')::integer;
		bytes_delta := coalesce(octet_length(NEW.content::text), 0);
	END IF;
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		active_delta := active_delta - (OLD.status = 'running')::integer;
		bytes_delta := bytes_delta - coalesce(octet_length(OLD.content::text), 0);
	END IF;
	IF TG_OP = 'DELETE' THEN
		UPDATE user_usage SET
			active_generation_jobs = active_generation_jobs + active_delta,
			stored_bytes = stored_bytes + bytes_delta
		WHERE user_id = OLD.creator_id;
	ELSE
		INSERT INTO user_usage (user_id, active_generation_jobs, stored_bytes) VALUES (NEW.creator_id, active_delta, bytes_delta)
		ON CONFLICT (user_id) DO UPDATE SET
			active_generation_jobs = user_usage.active_generation_jobs + excluded.active_generation_jobs,
			stored_bytes = user_usage.stored_bytes + excluded.stored_bytes;
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER generation_jobs_usage AFTER INSERT OR DELETE OR UPDATE OF status, content ON generation_jobs
FOR EACH ROW EXECUTE FUNCTION notepad_generation_jobs_usage();
--> statement-breakpoint
CREATE FUNCTION notepad_files_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO user_usage (user_id, stored_bytes) VALUES (NEW.owner_id, NEW.size_bytes)
		ON CONFLICT (user_id) DO UPDATE SET stored_bytes = user_usage.stored_bytes + excluded.stored_bytes;
	ELSE
		UPDATE user_usage SET stored_bytes = stored_bytes - OLD.size_bytes WHERE user_id = OLD.owner_id;
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER files_usage AFTER INSERT OR DELETE ON files
FOR EACH ROW EXECUTE FUNCTION notepad_files_usage();
