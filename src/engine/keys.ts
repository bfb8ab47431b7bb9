/**
 * Name-to-key matching of dsl.md §5.2. A `KeyMatcher` is built once per written segment at compile time; it
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

const MEMO_LIMIT = 4096;

export class KeyMatcher {
  private readonly variants: ReadonlySet<string>;
  private readonly memo = new Map<string, boolean>();

  constructor(readonly name: string) {
    this.variants = new Set(lowerVariants(name));
  }

  private matches(key: string): boolean {
    let m = this.memo.get(key);
    if (m === undefined) {
      m = false;
      for (const v of lowerVariants(key)) {
        if (this.variants.has(v)) {
          m = true;
          break;
        }
      }
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(key, m);
    }
    return m;
  }

  /** The key of `obj` this name selects, or undefined. Exact key first, then the smallest fuzzy match. */
  find(obj: object): string | undefined {
    if (Object.hasOwn(obj, this.name)) return this.name;
    let best: string | undefined;
    for (const k in obj) {
      if (best !== undefined && k >= best) continue;
      if (this.matches(k)) best = k;
    }
    return best;
  }
}

/** Splits a written link name into segments (`**a.b**` is link `a` then `b`, §5.1). */
export function segmentsOf(name: string): string[] {
  return name.split(".").map((s) => s.trim());
}
