/**
 * Name-to-key matching of docs/language.md#key-matching. A `KeyMatcher` is built once per written segment at compile time; it
 * precomputes the segment's lowercased variants and memoises the verdict for every key it has been shown, so the
 * hot path is one `hasOwn` check plus a map lookup per key of the object.
 */
import { COST } from "./costs.js";

export function words(n: string): string[] {
  return n.split(/[ _]/).filter((w) => w.length > 0);
}

export function camel(n: string): string {
  const w = words(n);
  if (w.length === 0) return "";
  if (w.length === 1) return w[0] as string;
  return (
    (w[0] as string).toLowerCase() +
    w
      .slice(1)
      .map((x) => x.charAt(0).toUpperCase() + x.slice(1).toLowerCase())
      .join("")
  );
}

function lowerVariants(n: string): string[] {
  const v = [n.toLowerCase(), camel(n).toLowerCase()];
  const w = words(n);
  if (w.length > 1) v.push(w.join("_").toLowerCase(), w.join(" ").toLowerCase());
  return v;
}

export function fuzzyEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const va = lowerVariants(a);
  const vb = lowerVariants(b);
  return va.some((x) => vb.includes(x));
}

// Lowercased variants of data keys, shared by every matcher: bounded memory however many matchers or keys there
// are (a full cache is simply dropped and refilled).
const KEY_VARIANTS_LIMIT = 10_000;
const keyVariants = new Map<string, string[]>();

function variantsOfKey(key: string): string[] {
  let v = keyVariants.get(key);
  if (v === undefined) {
    v = lowerVariants(key);
    if (keyVariants.size >= KEY_VARIANTS_LIMIT) keyVariants.clear();
    keyVariants.set(key, v);
  }
  return v;
}

/** Every lowercased variant of an object's keys mapped to the smallest key that has it. */
export type KeyIndex = Map<string, string>;

/** What a key lookup charges its work to and keeps its indexes in (the evaluation's `Ctx`). */
export interface WorkMeter {
  charge(steps: number): void;
  keyIndexes: WeakMap<object, KeyIndex> | null;
}

/** Keys visited between two charges: the scan is charged as it goes, so it stops at the budget. */
const CHARGE_EVERY = 256;

/**
 * Objects with more keys than this are indexed (once per evaluation) instead of scanned: a scan per lookup would
 * make many lookups into one wide object quadratic.
 */
const SCAN_LIMIT = 64;

function addVariant(index: KeyIndex, variant: string, key: string): void {
  const best = index.get(variant);
  if (best === undefined || key < best) index.set(variant, key);
}

function buildIndex(obj: object, meter: WorkMeter): KeyIndex {
  const index: KeyIndex = new Map();
  let visited = 0;
  for (const k in obj) {
    if (++visited === CHARGE_EVERY) {
      meter.charge(CHARGE_EVERY * COST.keyIndexed);
      visited = 0;
    }
    // Not through variantsOfKey: a wide object would only flush that shared cache. A key without separators has
    // one variant (its lowercase form); the others cost a split and joins, charged by their length.
    if (k.indexOf(" ") < 0 && k.indexOf("_") < 0) addVariant(index, k.toLowerCase(), k);
    else {
      meter.charge(k.length * COST.keyIndexed);
      for (const v of lowerVariants(k)) addVariant(index, v, k);
    }
  }
  meter.charge(visited * COST.keyIndexed);
  (meter.keyIndexes ??= new WeakMap()).set(obj, index);
  return index;
}

export class KeyMatcher {
  private readonly variants: ReadonlySet<string>;

  constructor(readonly name: string) {
    this.variants = new Set(lowerVariants(name));
  }

  private matches(key: string): boolean {
    const v = variantsOfKey(key);
    for (let i = 0; i < v.length; i++) if (this.variants.has(v[i] as string)) return true;
    return false;
  }

  /**
   * The key of `obj` this name selects, or undefined. Exact key first, then the smallest fuzzy match; the keys a
   * fuzzy scan visits are charged to `meter`.
   */
  find(obj: object, meter: WorkMeter): string | undefined {
    if (Object.hasOwn(obj, this.name)) return this.name;
    const index = meter.keyIndexes?.get(obj);
    if (index !== undefined) return this.lookUp(index);
    let best: string | undefined;
    let visited = 0;
    for (const k in obj) {
      if (++visited > SCAN_LIMIT) {
        meter.charge(SCAN_LIMIT * COST.keyScanned);
        return this.lookUp(buildIndex(obj, meter));
      }
      if (best !== undefined && k >= best) continue;
      if (this.matches(k)) best = k;
    }
    if (visited > 0) meter.charge(visited * COST.keyScanned);
    return best;
  }

  /** The smallest key sharing a variant with this name: what the scan finds, from the index. */
  private lookUp(index: KeyIndex): string | undefined {
    let best: string | undefined;
    for (const v of this.variants) {
      const k = index.get(v);
      if (k !== undefined && (best === undefined || k < best)) best = k;
    }
    return best;
  }
}

/** Splits a written link name into segments (`**a.b**` is link `a` then `b`, docs/language.md#chains). */
export function segmentsOf(name: string): string[] {
  return name.split(".").map((s) => s.trim());
}
