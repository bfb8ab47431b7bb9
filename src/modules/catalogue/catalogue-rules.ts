import { invalidInput } from "../../errors/domain-error.js";
import { isUuid } from "../../shared/ids.js";

/**
 * The catalogue's input rules, pure so the service, import and tests share them.
 *
 * Aliases are case-insensitive: they are stored and shown case-folded ("Loan-Check" is saved as "loan-check"),
 * so two aliases differing only in case can never name two bases and a client never has to guess the case.
 * Letters are ASCII only, so the rule is the same in every locale. A UUID-shaped alias is refused, so an ID
 * and an alias can never be confused wherever both are accepted.
 */
export const ALIAS_MAX_LENGTH = 64;
const ALIAS_PATTERN = /^[a-z0-9_-]+$/;

export function normaliseAlias(raw: string, field = "alias"): string {
  const alias = raw.trim().toLowerCase();
  if (!alias) throw invalidInput(field, "must not be empty (pass null to remove the alias)");
  if (alias.length > ALIAS_MAX_LENGTH) throw invalidInput(field, `must be at most ${ALIAS_MAX_LENGTH} characters`);
  if (!ALIAS_PATTERN.test(alias)) throw invalidInput(field, "may contain only letters a-z, digits, '-' and '_'");
  if (isUuid(alias)) throw invalidInput(field, "must not look like a UUID, so that it can never be mistaken for an ID");
  return alias;
}

/** An argument that may be a base ID or an alias: what it would be as an alias, or null when it cannot be one. */
export function asAlias(idOrAlias: string): string | null {
  if (isUuid(idOrAlias)) return null;
  const alias = idOrAlias.trim().toLowerCase();
  return alias.length > 0 && alias.length <= ALIAS_MAX_LENGTH && ALIAS_PATTERN.test(alias) ? alias : null;
}

/**
 * Tags are free text, normalised so that "Credit ", "credit" and "CREDIT" are one tag: trimmed, inner
 * whitespace collapsed to one space, case-folded (locale-independent). Bounded so a base's tags stay a label
 * list, not a document.
 */
export const TAG_MAX_LENGTH = 50;
export const MAX_TAGS_PER_BASE = 20;

export function normaliseTags(raw: readonly string[], field = "tags"): string[] {
  const tags = new Set<string>();
  raw.forEach((value, index) => {
    const tag = value.trim().replace(/\s+/g, " ").toLowerCase();
    if (!tag) throw invalidInput(`${field}[${index}]`, "must not be empty");
    if (tag.length > TAG_MAX_LENGTH) throw invalidInput(`${field}[${index}]`, `must be at most ${TAG_MAX_LENGTH} characters`);
    // A NUL cannot be stored in Postgres text.
    if (tag.includes("\u0000")) throw invalidInput(`${field}[${index}]`, "must not contain a NUL character");
    tags.add(tag);
  });
  return [...tags];
}

/** The tags after adding, refused when they would exceed the bound. */
export function withTags(current: readonly string[], added: readonly string[]): string[] {
  const next = [...new Set([...current, ...added])].sort();
  if (next.length > MAX_TAGS_PER_BASE) throw invalidInput("tags", `a base carries at most ${MAX_TAGS_PER_BASE} tags (it would have ${next.length})`);
  return next;
}

export const LOCK_REASON_MAX_LENGTH = 500;

export function requireLockReason(raw: string): string {
  const reason = raw.trim();
  if (!reason) throw invalidInput("reason", "is required to lock a base");
  if (reason.length > LOCK_REASON_MAX_LENGTH) throw invalidInput("reason", `must be at most ${LOCK_REASON_MAX_LENGTH} characters`);
  return reason;
}
