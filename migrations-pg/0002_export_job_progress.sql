ALTER TABLE "export_jobs" ADD COLUMN "progress_stage" text;--> statement-breakpoint
ALTER TABLE "export_jobs" ADD COLUMN "pages_rendered" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "export_jobs" ADD COLUMN "version" integer DEFAULT 0 NOT NULL;