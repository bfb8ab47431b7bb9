import type { Database } from "../database/database.js";
import type { Prisma } from "../generated/prisma/client.js";

/** A transaction in progress; store methods that take one run inside it, so a change commits as a whole. */
export type Transaction = Prisma.TransactionClient;

/** Runs `work` in one database transaction: everything it writes commits together or not at all. */
export function inTransaction<T>(database: Database, work: (tx: Transaction) => Promise<T>): Promise<T> {
  return database.prisma.$transaction(work);
}

/** Prisma's code for a unique-constraint violation. */
export const isUniqueViolation = (error: unknown): boolean => (error as { code?: unknown })?.code === "P2002";
