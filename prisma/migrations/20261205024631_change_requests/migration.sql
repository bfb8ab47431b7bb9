-- CreateEnum
CREATE TYPE "ChangeRequestState" AS ENUM ('PENDING', 'APPLIED', 'REJECTED', 'WITHDRAWN', 'EXPIRED', 'STALE');

-- CreateEnum
CREATE TYPE "ChangeDecision" AS ENUM ('APPROVE', 'REJECT');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "AuditAction" ADD VALUE 'APPROVAL_REQUESTED';
ALTER TYPE "AuditAction" ADD VALUE 'APPROVED';
ALTER TYPE "AuditAction" ADD VALUE 'REJECTED';
ALTER TYPE "AuditAction" ADD VALUE 'WITHDRAWN';
ALTER TYPE "AuditAction" ADD VALUE 'EXPIRED';
ALTER TYPE "AuditAction" ADD VALUE 'APPLIED';
ALTER TYPE "AuditAction" ADD VALUE 'STALE';

-- AlterEnum
ALTER TYPE "AuditResourceKind" ADD VALUE 'CHANGE_REQUEST';

-- CreateTable
CREATE TABLE "change_requests" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID NOT NULL,
    "action" "ApprovalAction" NOT NULL,
    "state" "ChangeRequestState" NOT NULL DEFAULT 'PENDING',
    "requester_type" "ActorType" NOT NULL,
    "requester_id" UUID,
    "base_id" UUID,
    "payload" JSONB NOT NULL DEFAULT '{}',
    "policy_ids" UUID[],
    "requirements" JSONB NOT NULL DEFAULT '[]',
    "expires_at" TIMESTAMPTZ(3),
    "closed_at" TIMESTAMPTZ(3),
    "closed_by_id" UUID,
    "comment" TEXT,
    "result_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "change_requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "change_request_decisions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID NOT NULL,
    "change_request_id" UUID NOT NULL,
    "approver_id" UUID NOT NULL,
    "decision" "ChangeDecision" NOT NULL,
    "counts_for" UUID[],
    "comment" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "change_request_decisions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "change_requests_tenant_id_created_at_idx" ON "change_requests"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "change_requests_tenant_id_state_idx" ON "change_requests"("tenant_id", "state");

-- CreateIndex
CREATE INDEX "change_requests_tenant_id_base_id_idx" ON "change_requests"("tenant_id", "base_id");

-- CreateIndex
CREATE UNIQUE INDEX "change_request_decisions_change_request_id_approver_id_key" ON "change_request_decisions"("change_request_id", "approver_id");

-- AddForeignKey
ALTER TABLE "change_requests" ADD CONSTRAINT "change_requests_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "change_request_decisions" ADD CONSTRAINT "change_request_decisions_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "change_request_decisions" ADD CONSTRAINT "change_request_decisions_change_request_id_fkey" FOREIGN KEY ("change_request_id") REFERENCES "change_requests"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
