import { invalidInput } from "../errors/domain-error.js";

/** A page of a listing, Relay-style. */
export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

/** Largest page any listing serves. */
export const MAX_PAGE = 100;

/** The page a client asked for: `first` rows after the cursor `after`. */
export interface PageRequest {
  first: number;
  after?: string | null;
}

type CursorPart = string | number;

/**
 * One column of a keyset sort: the Prisma field it orders by, how a row's value is written into a cursor,
 * and how a cursor part is read back (undefined: not a cursor this column wrote).
 */
export interface KeysetColumn<Row> {
  field: string;
  write(row: Row): CursorPart;
  read(part: CursorPart): unknown;
}

/**
 * A keyset order: columns whose values together are unique (the last one breaks ties), all in one direction.
 * Cursors are opaque base64url JSON of those values, so pages stay stable while rows are added.
 */
export interface Keyset<Row> {
  columns: readonly KeysetColumn<Row>[];
  direction: "asc" | "desc";
}

const UUID_PART = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const textColumn = <Row>(field: keyof Row & string): KeysetColumn<Row> => ({
  field,
  write: (row) => String(row[field]),
  read: (part) => (typeof part === "string" ? part : undefined),
});

export const uuidColumn = <Row>(field: keyof Row & string): KeysetColumn<Row> => ({
  field,
  write: (row) => String(row[field]),
  read: (part) => (typeof part === "string" && UUID_PART.test(part) ? part.toLowerCase() : undefined),
});

export const timeColumn = <Row>(field: keyof Row & string): KeysetColumn<Row> => ({
  field,
  write: (row) => (row[field] as Date).toISOString(),
  read: (part) => {
    const at = typeof part === "string" ? new Date(part) : null;
    return at && !Number.isNaN(at.getTime()) ? at : undefined;
  },
});

/** A 64-bit sequence number, written as a decimal string (JSON numbers lose precision above 2^53). */
export const sequenceColumn = <Row>(field: keyof Row & string): KeysetColumn<Row> => ({
  field,
  write: (row) => String(row[field]),
  read: (part) => (typeof part === "string" && /^\d{1,19}$/.test(part) ? BigInt(part) : undefined),
});

/** Refuses page sizes outside 1..MAX_PAGE (also for callers that bypass GraphQL's argument validation). */
export function requirePageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw invalidInput("first", `must be between 1 and ${MAX_PAGE}`);
  return first;
}

export function encodeCursor(parts: readonly CursorPart[]): string {
  return Buffer.from(JSON.stringify(parts)).toString("base64url");
}

/** The column values a cursor carries; BAD_USER_INPUT for anything this keyset did not write. */
export function readCursor<Row>(keyset: Keyset<Row>, cursor: string): unknown[] {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parts = null;
  }
  if (Array.isArray(parts) && parts.length === keyset.columns.length) {
    const values = keyset.columns.map((column, i) => {
      const part: unknown = parts[i];
      return typeof part === "string" || typeof part === "number" ? column.read(part) : undefined;
    });
    if (values.every((value) => value !== undefined)) return values;
  }
  throw invalidInput("after", "is not a cursor this API produced");
}

export const cursorOf = <Row>(keyset: Keyset<Row>, row: Row): string => encodeCursor(keyset.columns.map((column) => column.write(row)));

/** Prisma's `orderBy` for the keyset. */
export const keysetOrderBy = <Row>(keyset: Keyset<Row>): Record<string, "asc" | "desc">[] =>
  keyset.columns.map((column) => ({ [column.field]: keyset.direction }));

/**
 * Prisma's `where` for "after these values" in keyset order: (a > x) OR (a = x AND b > y) OR …
 * (`lt` when descending).
 */
export function keysetWhere<Row>(keyset: Keyset<Row>, values: readonly unknown[]): Record<string, unknown> {
  const beyond = keyset.direction === "asc" ? "gt" : "lt";
  const branches = keyset.columns.map((column, i) => ({
    ...Object.fromEntries(keyset.columns.slice(0, i).map((earlier, j) => [earlier.field, values[j]])),
    [column.field]: { [beyond]: values[i] },
  }));
  return branches.length === 1 ? branches[0]! : { OR: branches };
}

/** Builds a connection from `first + 1` fetched rows. */
export function toConnection<T>(rows: T[], first: number, totalCount: number, cursor: (row: T) => string): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: cursor(node), node }));
  return { edges, totalCount, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

/**
 * The one way listings page through Prisma: `find` gets the filter narrowed to rows after the cursor, the
 * keyset order and `first + 1` as `take`; `count` counts the whole filter.
 */
export async function keysetPage<Row, Where extends object>(
  keyset: Keyset<Row>,
  page: PageRequest,
  where: Where,
  query: {
    find(args: { where: Where; orderBy: Record<string, "asc" | "desc">[]; take: number }): Promise<Row[]>;
    count(args: { where: Where }): Promise<number>;
  },
): Promise<Connection<Row>> {
  const first = requirePageSize(page.first);
  const pageWhere = page.after ? ({ AND: [where, keysetWhere(keyset, readCursor(keyset, page.after))] } as unknown as Where) : where;
  const [rows, totalCount] = await Promise.all([query.find({ where: pageWhere, orderBy: keysetOrderBy(keyset), take: first + 1 }), query.count({ where })]);
  return toConnection(rows, first, totalCount, (row) => cursorOf(keyset, row));
}
