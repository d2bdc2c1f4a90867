DROP INDEX `export_jobs_claim_idx`;--> statement-breakpoint
CREATE INDEX `export_jobs_queue_idx` ON `export_jobs` (`creator_id`,`created_at`) WHERE status = 'running';--> statement-breakpoint
CREATE INDEX `export_jobs_lease_idx` ON `export_jobs` (`creator_id`,`lease_expires_at`) WHERE status = 'running';--> statement-breakpoint
CREATE INDEX `export_jobs_started_idx` ON `export_jobs` (`creator_id`,`started_at`) WHERE started_at is not null;--> statement-breakpoint
DROP INDEX `generation_jobs_claim_idx`;--> statement-breakpoint
ALTER TABLE `generation_jobs` ADD `started_at` integer;--> statement-breakpoint
CREATE INDEX `generation_jobs_queue_idx` ON `generation_jobs` (`creator_id`,`created_at`) WHERE status = 'running';--> statement-breakpoint
CREATE INDEX `generation_jobs_lease_idx` ON `generation_jobs` (`creator_id`,`lease_expires_at`) WHERE status = 'running';--> statement-breakpoint
CREATE INDEX `generation_jobs_started_idx` ON `generation_jobs` (`creator_id`,`started_at`) WHERE started_at is not null;