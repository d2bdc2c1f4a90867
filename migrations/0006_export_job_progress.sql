ALTER TABLE `export_jobs` ADD `progress_stage` text;--> statement-breakpoint
ALTER TABLE `export_jobs` ADD `pages_rendered` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `export_jobs` ADD `version` integer DEFAULT 0 NOT NULL;