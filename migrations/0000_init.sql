CREATE TABLE `documents` (
	`rid` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`content` text NOT NULL,
	`owner_id` text NOT NULL,
	`parent_folder_rid` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`parent_folder_rid`) REFERENCES `folders`(`rid`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `documents_folder_title_idx` ON `documents` (`parent_folder_rid`,`title`);--> statement-breakpoint
CREATE INDEX `documents_owner_idx` ON `documents` (`owner_id`);--> statement-breakpoint
CREATE TABLE `export_jobs` (
	`rid` text PRIMARY KEY NOT NULL,
	`creator_id` text NOT NULL,
	`source_type` text NOT NULL,
	`document_rid` text,
	`generation_job_rid` text,
	`template_rid` text,
	`user_locale` text NOT NULL,
	`user_timezone` text NOT NULL,
	`status` text NOT NULL,
	`file_rid` text,
	`error_message` text,
	`error_code` text,
	`error_instance_id` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`expires_at` integer NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`creator_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `export_jobs_claim_idx` ON `export_jobs` (`lease_expires_at`,`created_at`) WHERE status = 'running';--> statement-breakpoint
CREATE INDEX `export_jobs_expiry_idx` ON `export_jobs` (`expires_at`);--> statement-breakpoint
CREATE TABLE `files` (
	`rid` text PRIMARY KEY NOT NULL,
	`export_job_rid` text NOT NULL,
	`owner_id` text NOT NULL,
	`media_type` text NOT NULL,
	`filename` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`storage_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `files_export_job_idx` ON `files` (`export_job_rid`);--> statement-breakpoint
CREATE INDEX `files_expiry_idx` ON `files` (`expires_at`);--> statement-breakpoint
CREATE TABLE `folders` (
	`rid` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`owner_id` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `folders_owner_idx` ON `folders` (`owner_id`);--> statement-breakpoint
CREATE TABLE `generation_jobs` (
	`rid` text PRIMARY KEY NOT NULL,
	`template_rid` text NOT NULL,
	`template_version` integer NOT NULL,
	`creator_id` text NOT NULL,
	`parameters` text NOT NULL,
	`status` text NOT NULL,
	`content` text,
	`error_message` text,
	`created_at` integer NOT NULL,
	`finished_at` integer,
	`expires_at` integer NOT NULL,
	`lease_owner` text,
	`lease_expires_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`template_rid`) REFERENCES `templates`(`rid`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`creator_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `generation_jobs_claim_idx` ON `generation_jobs` (`status`,`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `generation_jobs_expiry_idx` ON `generation_jobs` (`expires_at`);--> statement-breakpoint
CREATE TABLE `permissions` (
	`principal_id` text NOT NULL,
	`resource_rid` text NOT NULL,
	`action` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`principal_id`, `resource_rid`, `action`),
	FOREIGN KEY (`principal_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `permissions_resource_idx` ON `permissions` (`resource_rid`);--> statement-breakpoint
CREATE TABLE `template_versions` (
	`template_rid` text NOT NULL,
	`version` integer NOT NULL,
	`content` text NOT NULL,
	`parameters` text NOT NULL,
	`published_at` integer NOT NULL,
	PRIMARY KEY(`template_rid`, `version`),
	FOREIGN KEY (`template_rid`) REFERENCES `templates`(`rid`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `templates` (
	`rid` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`owner_id` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`owner_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`expires_at` integer,
	`revoked_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tokens_hash_idx` ON `tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `tokens_user_idx` ON `tokens` (`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`can_create_export_jobs` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL
);
