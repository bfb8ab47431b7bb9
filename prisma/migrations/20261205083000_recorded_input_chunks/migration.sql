-- Recorded inputs are stored in chunks: one row per base and record per written batch, holding a JSON array of
-- the inputs (issue #18 point 2: a row, two index entries, a trim and a vacuum per recorded run cost Postgres
-- more than the run's share of a chunk).

-- CreateTable
CREATE TABLE "recorded_input_chunks" (
    "id" BIGSERIAL NOT NULL,
    "tenant_id" UUID NOT NULL,
    "base_id" UUID NOT NULL,
    "record_id" UUID NOT NULL,
    "input_count" INTEGER NOT NULL,
    "inputs" JSON NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recorded_input_chunks_pkey" PRIMARY KEY ("base_id","id")
);

-- CreateIndex
CREATE INDEX "recorded_input_chunks_recorded_at_idx" ON "recorded_input_chunks"("recorded_at");

-- Inputs recorded so far become chunks of one, in their order.
INSERT INTO "recorded_input_chunks" ("tenant_id", "base_id", "record_id", "input_count", "inputs", "recorded_at")
SELECT "tenant_id", "base_id", "record_id", 1, json_build_array("data"), "recorded_at" FROM "recorded_inputs" ORDER BY "id";

-- DropTable
DROP TABLE "recorded_inputs";
