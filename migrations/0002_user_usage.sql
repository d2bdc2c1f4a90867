CREATE TABLE `user_usage` (
	`user_id` text PRIMARY KEY NOT NULL,
	`active_export_jobs` integer DEFAULT 0 NOT NULL,
	`active_generation_jobs` integer DEFAULT 0 NOT NULL,
	`stored_bytes` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `files_owner_expiry_idx` ON `files` (`owner_id`,`expires_at`);--> statement-breakpoint
CREATE INDEX `generation_jobs_content_expiry_idx` ON `generation_jobs` (`creator_id`,`expires_at`) WHERE content is not null;