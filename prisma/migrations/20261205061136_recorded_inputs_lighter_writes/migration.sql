-- DropIndex
DROP INDEX "recorded_inputs_base_id_id_idx";

-- AlterTable
ALTER TABLE "recorded_inputs" DROP CONSTRAINT "recorded_inputs_pkey",
ALTER COLUMN "data" SET DATA TYPE JSON,
ADD CONSTRAINT "recorded_inputs_pkey" PRIMARY KEY ("base_id", "id");
