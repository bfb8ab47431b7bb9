import { defineConfig } from "prisma/config";

// Prisma 7 reads no .env by itself; the gateway takes DATABASE_URL from the environment only.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
