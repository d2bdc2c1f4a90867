CREATE TABLE "documents" (
	"rid" text PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"content" json NOT NULL,
	"owner_id" text NOT NULL,
	"parent_folder_rid" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "export_jobs" (
	"rid" text PRIMARY KEY NOT NULL,
	"creator_id" text NOT NULL,
	"source_type" text NOT NULL,
	"document_rid" text,
	"generation_job_rid" text,
	"template_rid" text,
	"user_locale" text NOT NULL,
	"user_timezone" text NOT NULL,
	"status" text NOT NULL,
	"file_rid" text,
	"error_message" text,
	"error_code" text,
	"error_instance_id" text,
	"created_at" bigint NOT NULL,
	"finished_at" bigint,
	"expires_at" bigint NOT NULL,
	"lease_owner" text,
	"lease_expires_at" bigint,
	"attempts" integer DEFAULT 0 NOT NULL,
	"started_at" bigint
);
--> statement-breakpoint
CREATE TABLE "files" (
	"rid" text PRIMARY KEY NOT NULL,
	"export_job_rid" text NOT NULL,
	"owner_id" text NOT NULL,
	"media_type" text NOT NULL,
	"filename" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"storage_key" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "folders" (
	"rid" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"owner_id" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "generation_jobs" (
	"rid" text PRIMARY KEY NOT NULL,
	"template_rid" text NOT NULL,
	"template_version" integer NOT NULL,
	"creator_id" text NOT NULL,
	"parameters" json NOT NULL,
	"status" text NOT NULL,
	"content" json,
	"error_message" text,
	"created_at" bigint NOT NULL,
	"finished_at" bigint,
	"expires_at" bigint NOT NULL,
	"lease_owner" text,
	"lease_expires_at" bigint,
	"attempts" integer DEFAULT 0 NOT NULL,
	"started_at" bigint
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"user_id" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"job_rid" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "permissions" (
	"principal_id" text NOT NULL,
	"resource_rid" text NOT NULL,
	"action" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "permissions_principal_id_resource_rid_action_pk" PRIMARY KEY("principal_id","resource_rid","action")
);
--> statement-breakpoint
CREATE TABLE "template_versions" (
	"template_rid" text NOT NULL,
	"version" integer NOT NULL,
	"content" json NOT NULL,
	"parameters" json NOT NULL,
	"published_at" bigint NOT NULL,
	CONSTRAINT "template_versions_template_rid_version_pk" PRIMARY KEY("template_rid","version")
);
--> statement-breakpoint
CREATE TABLE "templates" (
	"rid" text PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"owner_id" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"scopes" json NOT NULL,
	"expires_at" bigint,
	"revoked_at" bigint,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user_usage" (
	"user_id" text PRIMARY KEY NOT NULL,
	"active_export_jobs" integer DEFAULT 0 NOT NULL,
	"active_generation_jobs" integer DEFAULT 0 NOT NULL,
	"stored_bytes" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"can_create_export_jobs" boolean DEFAULT true NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "documents" ADD CONSTRAINT "documents_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "documents" ADD CONSTRAINT "documents_parent_folder_rid_folders_rid_fk" FOREIGN KEY ("parent_folder_rid") REFERENCES "public"."folders"("rid") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "export_jobs" ADD CONSTRAINT "export_jobs_creator_id_users_id_fk" FOREIGN KEY ("creator_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "folders" ADD CONSTRAINT "folders_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generation_jobs" ADD CONSTRAINT "generation_jobs_template_rid_templates_rid_fk" FOREIGN KEY ("template_rid") REFERENCES "public"."templates"("rid") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generation_jobs" ADD CONSTRAINT "generation_jobs_creator_id_users_id_fk" FOREIGN KEY ("creator_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "permissions" ADD CONSTRAINT "permissions_principal_id_users_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "template_versions" ADD CONSTRAINT "template_versions_template_rid_templates_rid_fk" FOREIGN KEY ("template_rid") REFERENCES "public"."templates"("rid") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "templates" ADD CONSTRAINT "templates_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tokens" ADD CONSTRAINT "tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_usage" ADD CONSTRAINT "user_usage_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "documents_folder_title_idx" ON "documents" USING btree ("parent_folder_rid","title");--> statement-breakpoint
CREATE INDEX "documents_owner_idx" ON "documents" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "export_jobs_queue_idx" ON "export_jobs" USING btree ("creator_id","created_at") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "export_jobs_lease_idx" ON "export_jobs" USING btree ("creator_id","lease_expires_at") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "export_jobs_started_idx" ON "export_jobs" USING btree ("creator_id","started_at") WHERE started_at is not null;--> statement-breakpoint
CREATE INDEX "export_jobs_expiry_idx" ON "export_jobs" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "export_jobs_creator_list_idx" ON "export_jobs" USING btree ("creator_id","created_at","rid");--> statement-breakpoint
CREATE UNIQUE INDEX "files_export_job_idx" ON "files" USING btree ("export_job_rid");--> statement-breakpoint
CREATE INDEX "files_expiry_idx" ON "files" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "files_owner_expiry_idx" ON "files" USING btree ("owner_id","expires_at");--> statement-breakpoint
CREATE INDEX "folders_owner_idx" ON "folders" USING btree ("owner_id");--> statement-breakpoint
CREATE INDEX "generation_jobs_queue_idx" ON "generation_jobs" USING btree ("creator_id","created_at") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "generation_jobs_lease_idx" ON "generation_jobs" USING btree ("creator_id","lease_expires_at") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "generation_jobs_started_idx" ON "generation_jobs" USING btree ("creator_id","started_at") WHERE started_at is not null;--> statement-breakpoint
CREATE INDEX "generation_jobs_expiry_idx" ON "generation_jobs" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "generation_jobs_content_expiry_idx" ON "generation_jobs" USING btree ("creator_id","expires_at") WHERE content is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "idempotency_keys_user_key_idx" ON "idempotency_keys" USING btree ("user_id","key");--> statement-breakpoint
CREATE INDEX "idempotency_keys_expiry_idx" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "permissions_resource_idx" ON "permissions" USING btree ("resource_rid");--> statement-breakpoint
CREATE UNIQUE INDEX "tokens_hash_idx" ON "tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "tokens_user_idx" ON "tokens" USING btree ("user_id");