/**
 * A JSON value the gateway's event loop carries without reading it: a large request's `data`, parsed in the evaluation
 * pool and kept as the UTF-8 bytes of its echo (src/modules/execution/large-data.ts). The GraphQL JSON scalars let it
 * through as it is (its depth was checked where it was parsed), and results echo it as its text (exact-numbers.ts,
 * `echoOf`). A marker here, below both, so that neither the scalars nor the echo depend on the execution module.
 */
export const OPAQUE_JSON = Symbol("verdict.opaqueJson");

export interface OpaqueJson {
  readonly [OPAQUE_JSON]: {
    /** Deeper than the GraphQL scalars accept (MAX_JSON_DEPTH): refused by them, as the value would be. */
    readonly tooDeep: boolean;
    /** The value's JSON text, every number as the client wrote it. */
    text(): string;
  };
}

export const isOpaqueJson = (value: unknown): value is OpaqueJson => typeof value === "object" && value !== null && OPAQUE_JSON in value;

/**
 * A value found too deep where it was parsed, as the JSON scalars get it: its first levels (`preview`, which error
 * messages show as graphql-js's `inspect` would show the value) marked for refusal. The mark is a symbol: `inspect`
 * and Object.entries do not see it.
 */
export function tooDeepJson(preview: object): OpaqueJson {
  const mark: OpaqueJson[typeof OPAQUE_JSON] = {
    tooDeep: true,
    text: () => {
      throw new Error("a value too deep to accept has no text");
    },
  };
  return Object.defineProperty(preview, OPAQUE_JSON, { value: mark }) as OpaqueJson;
}

/**
 * The levels of `value` that graphql-js's `inspect` shows (two), deeper objects and arrays as stand-ins it shows alike
 * (`[Object]`, `[Array]`, `{}`, `[]`): for the message refusing a value too deep, made without the value.
 */
export function inspectedLevels(value: unknown, depth = 1): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth >= 3) return Array.isArray(value) ? (value.length > 0 ? [0] : []) : Object.keys(value).length > 0 ? { _: 0 } : {};
  if (Array.isArray(value)) return value.map((item) => inspectedLevels(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, inspectedLevels(child, depth + 1)]));
}

/**
 * Deeper JSON input than this is refused before any resolver runs (src/graphql/scalars.ts): results echo their input
 * (`data`), and a value nested tens of thousands of levels deep would overflow the stack when the response is
 * serialised. The engine itself reads only 100 levels (its `maxDataDepth`), so no useful input comes near this bound.
 */
export const MAX_JSON_DEPTH = 1_000;

/** Whether `value` is nested deeper than `max` levels. Walks without recursion, so hostile input cannot overflow it. */
export function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth > max) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}
