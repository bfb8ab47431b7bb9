import { notFound } from "../errors/domain-error.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

/** IDs are UUIDs; anything else cannot exist, so it is reported exactly like a missing row. */
export function requireUuid(id: string, what: string): string {
  if (!isUuid(id)) throw notFound(what, id);
  return id.toLowerCase();
}
