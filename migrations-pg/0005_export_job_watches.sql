CREATE TABLE "export_job_watches" (
	"rid" text NOT NULL,
	"node" text NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "export_job_watches_rid_node_pk" PRIMARY KEY("rid","node")
);
--> statement-breakpoint
CREATE INDEX "export_job_watches_node_idx" ON "export_job_watches" USING btree ("node");--> statement-breakpoint
CREATE INDEX "export_job_watches_expiry_idx" ON "export_job_watches" USING btree ("expires_at");