-- AlterTable
ALTER TABLE "tenants" ALTER COLUMN "database_binding" SET DATA TYPE VARCHAR(2048);

-- CreateTable
CREATE TABLE "tenant_database_identity" (
    "singleton" BOOLEAN NOT NULL DEFAULT true,
    "tenant_id" UUID NOT NULL,
    "provisioned_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tenant_database_identity_pkey" PRIMARY KEY ("singleton")
);

-- Hand-written: the identity table has exactly one row (the primary key alone would allow `false` too).
ALTER TABLE "tenant_database_identity" ADD CONSTRAINT "tenant_database_identity_one_row" CHECK ("singleton");
