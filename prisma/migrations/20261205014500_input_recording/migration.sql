-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'RECORDING_CONFIGURED';

-- CreateTable
CREATE TABLE "base_recordings" (
    "base_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "retention_days" INTEGER NOT NULL,
    "max_inputs" INTEGER NOT NULL,
    "redact_paths" TEXT[],
    "updated_by_id" UUID,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "base_recordings_pkey" PRIMARY KEY ("base_id")
);

-- CreateTable
CREATE TABLE "recorded_inputs" (
    "id" BIGSERIAL NOT NULL,
    "tenant_id" UUID NOT NULL,
    "base_id" UUID NOT NULL,
    "record_id" UUID NOT NULL,
    "data" JSONB NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recorded_inputs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "base_recordings_tenant_id_idx" ON "base_recordings"("tenant_id");

-- CreateIndex
CREATE INDEX "recorded_inputs_base_id_id_idx" ON "recorded_inputs"("base_id", "id");

-- CreateIndex
CREATE INDEX "recorded_inputs_recorded_at_idx" ON "recorded_inputs"("recorded_at");
