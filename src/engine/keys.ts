/**
 * Name-to-key matching of docs/language.md#key-matching. A `KeyMatcher` is built once per written segment at compile time; it
 * precomputes the segment's lowercased variants and memoises the verdict for every key it has been shown, so the
 * hot path is one `hasOwn` check plus a map lookup per key of the object.
 */

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

/**
 * Keys visited by fuzzy scans since the evaluator last looked. Evaluation charges them to the step budget, so data
 * objects with huge key sets cannot make a policy with many fuzzy paths run unboundedly long.
 */
export const scanCounter = { keys: 0 };

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

  /** The key of `obj` this name selects, or undefined. Exact key first, then the smallest fuzzy match. */
  find(obj: object): string | undefined {
    if (Object.hasOwn(obj, this.name)) return this.name;
    let best: string | undefined;
    for (const k in obj) {
      scanCounter.keys++;
      if (best !== undefined && k >= best) continue;
      if (this.matches(k)) best = k;
    }
    return best;
  }
}

/** Splits a written link name into segments (`**a.b**` is link `a` then `b`, docs/language.md#chains). */
export function segmentsOf(name: string): string[] {
  return name.split(".").map((s) => s.trim());
}
