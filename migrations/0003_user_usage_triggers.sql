-- user_usage (db/schema.ts) kept by the database itself: every insert, status or content
-- change and delete of a job or file adjusts its user's row in the same transaction,
-- whichever process or code path writes it. A job is active while its status is
-- 'running'; stored bytes are files' size_bytes and generated content's UTF-8 length.
-- A job's creator and a file's owner never change. Drizzle cannot express triggers, hence
-- a custom migration (drizzle-kit generate --custom).
CREATE TRIGGER `export_jobs_usage_insert` AFTER INSERT ON `export_jobs` WHEN NEW.status = 'running' BEGIN
	INSERT INTO `user_usage` (`user_id`, `active_export_jobs`) VALUES (NEW.creator_id, 1)
	ON CONFLICT (`user_id`) DO UPDATE SET `active_export_jobs` = `active_export_jobs` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `export_jobs_usage_status` AFTER UPDATE OF `status` ON `export_jobs`
WHEN (OLD.status = 'running') <> (NEW.status = 'running') BEGIN
	INSERT INTO `user_usage` (`user_id`, `active_export_jobs`) VALUES (NEW.creator_id, (NEW.status = 'running') - (OLD.status = 'running'))
	ON CONFLICT (`user_id`) DO UPDATE SET `active_export_jobs` = `active_export_jobs` + excluded.`active_export_jobs`;
END;
--> statement-breakpoint
CREATE TRIGGER `export_jobs_usage_delete` AFTER DELETE ON `export_jobs` WHEN OLD.status = 'running' BEGIN
	UPDATE `user_usage` SET `active_export_jobs` = `active_export_jobs` - 1 WHERE `user_id` = OLD.creator_id;
END;
--> statement-breakpoint
CREATE TRIGGER `generation_jobs_usage_insert` AFTER INSERT ON `generation_jobs` BEGIN
	INSERT INTO `user_usage` (`user_id`, `active_generation_jobs`, `stored_bytes`)
	VALUES (NEW.creator_id, NEW.status = 'running', coalesce(octet_length(NEW.content), 0))
	ON CONFLICT (`user_id`) DO UPDATE SET
		`active_generation_jobs` = `active_generation_jobs` + excluded.`active_generation_jobs`,
		`stored_bytes` = `stored_bytes` + excluded.`stored_bytes`;
END;
--> statement-breakpoint
CREATE TRIGGER `generation_jobs_usage_update` AFTER UPDATE OF `status`, `content` ON `generation_jobs` BEGIN
	INSERT INTO `user_usage` (`user_id`, `active_generation_jobs`, `stored_bytes`)
	VALUES (
		NEW.creator_id,
		(NEW.status = 'running') - (OLD.status = 'running'),
		coalesce(octet_length(NEW.content), 0) - coalesce(octet_length(OLD.content), 0)
	)
	ON CONFLICT (`user_id`) DO UPDATE SET
		`active_generation_jobs` = `active_generation_jobs` + excluded.`active_generation_jobs`,
		`stored_bytes` = `stored_bytes` + excluded.`stored_bytes`;
END;
--> statement-breakpoint
CREATE TRIGGER `generation_jobs_usage_delete` AFTER DELETE ON `generation_jobs` BEGIN
	UPDATE `user_usage` SET
		`active_generation_jobs` = `active_generation_jobs` - (OLD.status = 'running'),
		`stored_bytes` = `stored_bytes` - coalesce(octet_length(OLD.content), 0)
	WHERE `user_id` = OLD.creator_id;
END;
--> statement-breakpoint
CREATE TRIGGER `files_usage_insert` AFTER INSERT ON `files` BEGIN
	INSERT INTO `user_usage` (`user_id`, `stored_bytes`) VALUES (NEW.owner_id, NEW.size_bytes)
	ON CONFLICT (`user_id`) DO UPDATE SET `stored_bytes` = `stored_bytes` + excluded.`stored_bytes`;
END;
--> statement-breakpoint
CREATE TRIGGER `files_usage_delete` AFTER DELETE ON `files` BEGIN
	UPDATE `user_usage` SET `stored_bytes` = `stored_bytes` - OLD.size_bytes WHERE `user_id` = OLD.owner_id;
END;
--> statement-breakpoint
-- What databases created before these triggers already hold.
INSERT INTO `user_usage` (`user_id`, `active_export_jobs`, `active_generation_jobs`, `stored_bytes`)
SELECT
	`users`.`id`,
	(SELECT count(*) FROM `export_jobs` WHERE `creator_id` = `users`.`id` AND `status` = 'running'),
	(SELECT count(*) FROM `generation_jobs` WHERE `creator_id` = `users`.`id` AND `status` = 'running'),
	(SELECT coalesce(sum(`size_bytes`), 0) FROM `files` WHERE `owner_id` = `users`.`id`)
		+ (SELECT coalesce(sum(octet_length(`content`)), 0) FROM `generation_jobs` WHERE `creator_id` = `users`.`id`)
FROM `users` WHERE true
ON CONFLICT (`user_id`) DO NOTHING;
