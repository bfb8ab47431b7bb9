-- CreateEnum
CREATE TYPE "RiskLevel" AS ENUM ('LOW', 'MEDIUM', 'HIGH');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "AuditAction" ADD VALUE 'ALIAS_CHANGED';
ALTER TYPE "AuditAction" ADD VALUE 'TAGS_CHANGED';
ALTER TYPE "AuditAction" ADD VALUE 'RISK_CHANGED';
ALTER TYPE "AuditAction" ADD VALUE 'LOCKED';
ALTER TYPE "AuditAction" ADD VALUE 'UNLOCKED';
ALTER TYPE "AuditAction" ADD VALUE 'IMPORTED';

-- AlterTable
ALTER TABLE "bases" ADD COLUMN     "alias" VARCHAR(64),
ADD COLUMN     "lock_reason" VARCHAR(500),
ADD COLUMN     "locked_at" TIMESTAMPTZ(3),
ADD COLUMN     "locked_by_id" UUID,
ADD COLUMN     "risk_level" "RiskLevel" NOT NULL DEFAULT 'LOW',
ADD COLUMN     "tags" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "bases_tags_idx" ON "bases" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "bases_tenant_id_risk_level_idx" ON "bases"("tenant_id", "risk_level");

-- Hand-written invariants the Prisma schema cannot express ------------------------------------
-- An alias names at most one live base per tenant; deleting a base frees its alias (spec §11).
CREATE UNIQUE INDEX "bases_tenant_id_alias_live_key" ON "bases" ("tenant_id", "alias") WHERE "deleted_at" IS NULL;
-- Aliases are case-folded letters, digits, '-' and '_', and never UUID-shaped (the gateway checks the
-- same; this keeps rows written any other way honest).
ALTER TABLE "bases" ADD CONSTRAINT "bases_alias_format" CHECK (
  "alias" ~ '^[a-z0-9_-]{1,64}$' AND "alias" !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
);
