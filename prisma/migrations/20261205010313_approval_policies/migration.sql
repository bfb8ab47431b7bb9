-- CreateEnum
CREATE TYPE "ApprovalAction" AS ENUM ('PUBLISH', 'DELETE', 'RESTORE', 'ASSIGN_ROLES', 'CREATE_API_KEY', 'TRANSFER_OWNERSHIP');

-- AlterEnum
ALTER TYPE "AuditAction" ADD VALUE 'ARCHIVED';

-- AlterEnum
ALTER TYPE "AuditResourceKind" ADD VALUE 'APPROVAL_POLICY';

-- CreateTable
CREATE TABLE "approval_policies" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "tenant_id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "action" "ApprovalAction" NOT NULL,
    "conditions" TEXT,
    "required_approvals" INTEGER NOT NULL DEFAULT 1,
    "approver_roles" "Role"[],
    "approver_user_ids" UUID[],
    "allow_self_approve" BOOLEAN NOT NULL DEFAULT false,
    "bypass_roles" "Role"[],
    "expires_after" VARCHAR(64),
    "expires_after_seconds" INTEGER,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "archived_at" TIMESTAMPTZ(3),
    "created_by_id" UUID,
    "updated_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "approval_policies_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "approval_policies_tenant_id_action_idx" ON "approval_policies"("tenant_id", "action");

-- AddForeignKey
ALTER TABLE "approval_policies" ADD CONSTRAINT "approval_policies_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
