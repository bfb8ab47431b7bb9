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
  data: Record<string, unknown>;
}

export function abuseCases(): AbuseCase[] {
  const long = "a".repeat(BODY);
  const words = "a ".repeat(BODY / 2);
  const numbers = Array.from({ length: BODY / 8 }, (_, i) => i % 1000);
  const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]));
  const objects = Array.from({ length: BODY / 16 }, (_, i) => ({ v: i % 7 }));
  return [
    { name: "patterns", rule: `A **x** is ok if ${repeat(250, () => `__s__ of **x** matches pattern "[a-z]{0,990}[0]{2}"`)}.`, data: { x: { s: long } } },
    {
      name: "formats (json)",
      rule: `A **x** is ok if ${repeat(100, () => `__s__ of **x** has the format "json"`)}.`,
      data: { x: { s: `[${"1,".repeat(BODY / 2 - 1)}1]` } },
    },
    {
      name: "formats (toml)",
      rule: `A **x** is ok if ${repeat(100, () => `__s__ of **x** has the format "toml"`)}.`,
      data: { x: { s: "a = 1\n".repeat(BODY / 7) } },
    },
    { name: "formats (email)", rule: `A **x** is ok if ${repeat(100, () => `__s__ of **x** is a valid email`)}.`, data: { x: { s: `${"a".repeat(BODY)}@b` } } },
    { name: "contains (text)", rule: `A **x** is ok if ${repeat(200, () => `__s__ of **x** contains "a"`)}.`, data: { x: { s: long } } },
    { name: "contains (words)", rule: `A **x** is ok if ${repeat(200, () => `__s__ of **x** contains "zz"`)}.`, data: { x: { s: words } } },
    { name: "contains (list)", rule: `A **x** is ok if ${repeat(200, () => `__xs__ of **x** contains 5000`)}.`, data: { x: { xs: numbers } } },
    { name: "starts with", rule: `A **x** is ok if ${repeat(200, () => `__s__ of **x** starts with "b"`)}.`, data: { x: { s: long } } },
    {
      name: "equality (text)",
      rule: `A **x** is ok if ${repeat(200, () => `__s__ of **x** is equal to __t__ of **x**`)}.`,
      data: { x: { s: long.slice(0, BODY / 2), t: long.slice(0, BODY / 2) } },
    },
    { name: "fuzzy keys", rule: `A **x** is ok if ${repeat(200, (i) => `__missing ${i}__ of **x** exists`)}.`, data: { x: wide } },
    {
      name: "quantifier (any where)",
      rule: `A **x** is ok if any __xs__ of **x** where (${repeat(20, () => "its __v__ is greater than 100")}).`,
      data: { x: { xs: objects } },
    },
    { name: "quantifier (all)", rule: `A **x** is ok if ${repeat(50, () => `all __xs__ of **x** is less than 5000`)}.`, data: { x: { xs: numbers } } },
    { name: "aggregates", rule: `A **x** is ok if ${repeat(200, () => `the sum of __xs__ of **x** is greater than 1`)}.`, data: { x: { xs: numbers } } },
    { name: "number of / length", rule: `A **x** is ok if ${repeat(200, () => `the length of __s__ of **x** is greater than 1`)}.`, data: { x: { s: long } } },
    {
      name: "big labels",
      rule: Array.from({ length: 500 }, (_, i) => `L${i}${"x".repeat(120)}. A **x** passes c${i} if __s__ of **x** contains "a".`).join("\n"),
      data: { x: { s: "a".repeat(2_000) } },
    },
  ];
}
