-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'SHADOW_SET';

-- CreateTable
CREATE TABLE "base_shadows" (
    "base_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "record_id" UUID NOT NULL,
    "set_by_id" UUID,
    "set_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "runs" BIGINT NOT NULL DEFAULT 0,
    "agreed" BIGINT NOT NULL DEFAULT 0,
    "disagreed" BIGINT NOT NULL DEFAULT 0,
    "errors" BIGINT NOT NULL DEFAULT 0,
    "dropped" BIGINT NOT NULL DEFAULT 0,
    "last_run_at" TIMESTAMPTZ(3),

    CONSTRAINT "base_shadows_pkey" PRIMARY KEY ("base_id")
);

-- CreateTable
CREATE TABLE "shadow_disagreements" (
    "base_id" UUID NOT NULL,
    "slot" INTEGER NOT NULL,
    "tenant_id" UUID NOT NULL,
    "sequence" BIGINT NOT NULL,
    "live_record_id" UUID NOT NULL,
    "shadow_record_id" UUID NOT NULL,
    "live_result" JSONB,
    "live_error" TEXT,
    "shadow_result" JSONB,
    "shadow_error" TEXT,
    "data" JSONB,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "shadow_disagreements_pkey" PRIMARY KEY ("base_id","slot")
);

-- CreateTable
CREATE TABLE "maintenance_sweeps" (
    "name" VARCHAR(100) NOT NULL,
    "swept_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "maintenance_sweeps_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "base_shadows_tenant_id_idx" ON "base_shadows"("tenant_id");

-- CreateIndex
CREATE INDEX "shadow_disagreements_tenant_id_idx" ON "shadow_disagreements"("tenant_id");
