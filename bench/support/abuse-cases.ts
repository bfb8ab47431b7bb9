/**
 * The worst inputs we know for each construct of the language, at the request limits (a 1 MiB body): policies of
 * many conditions over the largest value a body can carry. Shared by `bench/abuse.bench.ts` (through the gateway)
 * and the fuzz test (through the engine).
 */
const BODY = 900_000;

const repeat = (n: number, condition: (i: number) => string): string => Array.from({ length: n }, (_, i) => condition(i)).join(" and ");

export interface AbuseCase {
  name: string;
  rule: string;
  /** Built when first read: the benchmark's gateway process needs only the names. */
  readonly data: Record<string, unknown>;
}

/** `make()`, made on first call and then kept. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/** A case whose data is built when first read. */
const lazy = (name: string, rule: string, data: () => Record<string, unknown>): AbuseCase => {
  const made = once(data);
  return {
    name,
    rule,
    get data() {
      return made();
    },
  };
};

export function abuseCases(): AbuseCase[] {
  const long = once(() => "a".repeat(BODY));
  const words = once(() => "a ".repeat(BODY / 2));
  const numbers = once(() => Array.from({ length: BODY / 8 }, (_, i) => i % 1000));
  const wide = once(() => Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i])));
  const objects = once(() => Array.from({ length: BODY / 16 }, (_, i) => ({ v: i % 7 })));
  return [
    lazy("patterns", `A **x** is ok if ${repeat(250, () => `__s__ of **x** matches pattern "[a-z]{0,990}[0]{2}"`)}.`, () => ({ x: { s: long() } })),
    lazy("formats (json)", `A **x** is ok if ${repeat(100, () => `__s__ of **x** has the format "json"`)}.`, () => ({
      x: { s: `[${"1,".repeat(BODY / 2 - 1)}1]` },
    })),
    lazy("formats (toml)", `A **x** is ok if ${repeat(100, () => `__s__ of **x** has the format "toml"`)}.`, () => ({ x: { s: "a = 1\n".repeat(BODY / 7) } })),
    lazy("formats (email)", `A **x** is ok if ${repeat(100, () => `__s__ of **x** is a valid email`)}.`, () => ({ x: { s: `${"a".repeat(BODY)}@b` } })),
    lazy("contains (text)", `A **x** is ok if ${repeat(200, () => `__s__ of **x** contains "a"`)}.`, () => ({ x: { s: long() } })),
    lazy("contains (words)", `A **x** is ok if ${repeat(200, () => `__s__ of **x** contains "zz"`)}.`, () => ({ x: { s: words() } })),
    lazy("contains (list)", `A **x** is ok if ${repeat(200, () => `__xs__ of **x** contains 5000`)}.`, () => ({ x: { xs: numbers() } })),
    lazy("starts with", `A **x** is ok if ${repeat(200, () => `__s__ of **x** starts with "b"`)}.`, () => ({ x: { s: long() } })),
    lazy("equality (text)", `A **x** is ok if ${repeat(200, () => `__s__ of **x** is equal to __t__ of **x**`)}.`, () => ({
      x: { s: long().slice(0, BODY / 2), t: long().slice(0, BODY / 2) },
    })),
    lazy("fuzzy keys", `A **x** is ok if ${repeat(200, (i) => `__missing ${i}__ of **x** exists`)}.`, () => ({ x: wide() })),
    lazy("quantifier (any where)", `A **x** is ok if any __xs__ of **x** where (${repeat(20, () => "its __v__ is greater than 100")}).`, () => ({
      x: { xs: objects() },
    })),
    lazy("quantifier (all)", `A **x** is ok if ${repeat(50, () => `all __xs__ of **x** is less than 5000`)}.`, () => ({ x: { xs: numbers() } })),
    lazy("aggregates", `A **x** is ok if ${repeat(200, () => `the sum of __xs__ of **x** is greater than 1`)}.`, () => ({ x: { xs: numbers() } })),
    lazy("number of / length", `A **x** is ok if ${repeat(200, () => `the length of __s__ of **x** is greater than 1`)}.`, () => ({ x: { s: long() } })),
    // 300 labelled rules with 100-character labels (every one in the answer's `labels` and trace), all named by
    // the one golden rule: just under the 100,000-character limit of a rule text.
    lazy("big labels", bigLabels(300, 100), () => ({ x: { s: "a" } })),
  ];
}

function bigLabels(count: number, labelLength: number): string {
  const label = (i: number) => `L${i}${"x".repeat(labelLength - String(i).length - 1)}`;
  const labelled = Array.from({ length: count }, (_, i) => `${label(i)}. A **x** passes c${i} if __s__ of **x** contains "a".`);
  return [...labelled, `A **x** is ok if ${repeat(count, (i) => `§${label(i)} passes`)}.`].join("\n");
}
