/**
 * The operator table (docs/language.md#operators): every operator's name, where the grammar accepts it, its
 * phrasings and its description, and every string format's name and words. Everything else is derived from it:
 * the grammar's operator rules (`grammar/operator-rules.ts`, built into the parser by `npm run engine:grammar`),
 * the implementations (`operators.ts`, a table the compiler checks against these names), `listOperators` and the
 * format lists. How to add an operator: src/engine/README.md#adding-an-operator.
 */

/**
 * Where the grammar accepts an operator, which also says its operands: `compare` and `set` take one (set
 * operators are tried first, so "contains all of" wins over "contains"), `time` one and an optional `of` anchor,
 * `unary` none, `range` two (`is between … and …`), `format` and `pattern` a string literal.
 */
export type OperatorKind = "compare" | "set" | "time" | "unary" | "range" | "format" | "pattern";

export interface OperatorSpec {
  kind: OperatorKind;
  /** Verbose phrasings, as listed by `listOperators`; ` … ` stands for operands inside the phrase. */
  phrases: readonly string[];
  /** Shorthand-rule forms: symbols (`>=`) or words. */
  shorthand?: readonly string[];
  description: string;
}

export const OPERATORS = {
  GreaterThan: { kind: "compare", phrases: ["is greater than"], shorthand: [">"], description: "Both operands numbers; left > right." },
  GreaterThanOrEqual: {
    kind: "compare",
    phrases: ["is greater than or equal to", "is at least"],
    shorthand: [">="],
    description: "Both operands numbers; left ≥ right.",
  },
  LessThan: { kind: "compare", phrases: ["is less than"], shorthand: ["<"], description: "Both operands numbers; left < right." },
  LessThanOrEqual: {
    kind: "compare",
    phrases: ["is less than or equal to", "is no more than"],
    shorthand: ["<="],
    description: "Both operands numbers; left ≤ right.",
  },
  EqualTo: {
    kind: "compare",
    phrases: ["is equal to", "is the same as", "is like"],
    shorthand: ["=="],
    description: "Equality; strings compared case-insensitively, dates by calendar day.",
  },
  ExactlyEqualTo: { kind: "compare", phrases: ["is exactly equal to", "is exactly"], description: "Equality; strings compared exactly (case-sensitive)." },
  NotEqualTo: {
    kind: "compare",
    phrases: ["is not equal to", "is not the same as"],
    shorthand: ["!="],
    description: "Negation of EqualTo for comparable operands; false on a type mismatch or missing operand.",
  },
  LaterThan: { kind: "compare", phrases: ["is later than"], description: "Both operands date-coercible; left day after right day." },
  EarlierThan: { kind: "compare", phrases: ["is earlier than"], description: "Both operands date-coercible; left day before right day." },
  In: { kind: "set", phrases: ["is in"], shorthand: ["in"], description: "Right operand a list (literal or data); some element equals the left value." },
  NotIn: {
    kind: "set",
    phrases: ["is not in"],
    shorthand: ["not in"],
    description: "Right operand a list; no element equals the left value (false when the left value is missing).",
  },
  Contains: {
    kind: "compare",
    phrases: ["contains"],
    shorthand: ["contains"],
    description: "List on the left: membership. String on the left: case-insensitive whole-word search (shorthand: whole-value equality).",
  },
  ContainsAllOf: { kind: "set", phrases: ["contains all of"], description: "Left list contains every element of the right list." },
  ContainsAnyOf: { kind: "set", phrases: ["contains any of"], description: "Left list contains at least one element of the right list." },
  StartsWith: { kind: "compare", phrases: ["starts with"], description: "Both strings; case-insensitive prefix test." },
  EndsWith: { kind: "compare", phrases: ["ends with"], description: "Both strings; case-insensitive suffix test." },
  IsEmpty: { kind: "unary", phrases: ["is empty"], description: "Missing, null, empty string, list or object." },
  IsNotEmpty: { kind: "unary", phrases: ["is not empty"], description: "Negation of IsEmpty." },
  Exists: { kind: "unary", phrases: ["exists"], shorthand: ["exists"], description: "Value present and not null." },
  DoesNotExist: { kind: "unary", phrases: ["does not exist"], shorthand: ["does not exist"], description: "Value missing or null." },
  IsNull: { kind: "unary", phrases: ["is null"], shorthand: ["is null"], description: "Value missing or null." },
  IsNotNull: { kind: "unary", phrases: ["is not null"], shorthand: ["is not null"], description: "Value present and not null." },
  Within: { kind: "time", phrases: ["is within"], description: "Left date within a duration of today (or of the `of` date), either direction." },
  OlderThan: { kind: "time", phrases: ["is older than"], description: "Left date more than a duration before today (or the `of` date)." },
  YoungerThan: { kind: "time", phrases: ["is younger than"], description: "Left date less than a duration before today (or the `of` date)." },
  IsInThePast: { kind: "unary", phrases: ["is in the past"], description: "Left date before today." },
  IsInTheFuture: { kind: "unary", phrases: ["is in the future"], description: "Left date after today." },
  IsBetween: { kind: "range", phrases: ["is between … and …"], shorthand: ["between … and …"], description: "Inclusive range over numbers or dates." },
  HasFormat: {
    kind: "format",
    phrases: ["has the format", "has format"],
    description: "Left string has the named format (same formats as the validators).",
  },
  MatchesPattern: {
    kind: "pattern",
    phrases: ["matches pattern", "matches regex"],
    description: "Left string contains a match of the ECMAScript regular expression.",
  },
} as const satisfies Record<string, OperatorSpec>;

export interface FormatSpec {
  /** How a policy names the format, after `is a valid` / `is not a valid` or in `has the format "…"`; the first is the main one. */
  words: readonly string[];
}

/** The string formats of docs/language.md#formats-and-patterns; each gives a validator pair `IsValid<Name>` / `IsNotValid<Name>`. */
export const FORMATS = {
  Email: { words: ["email"] },
  Url: { words: ["url"] },
  Uuid: { words: ["uuid"] },
  Phone: { words: ["phone number", "phone"] },
  Date: { words: ["date"] },
  Time: { words: ["time"] },
  Datetime: { words: ["datetime"] },
  Iso8601: { words: ["iso8601"] },
  IpAddress: { words: ["ip address", "ip"] },
  Ipv4Address: { words: ["ipv4 address", "ipv4"] },
  Ipv6Address: { words: ["ipv6 address", "ipv6"] },
  Cidr: { words: ["cidr"] },
  Json: { words: ["json"] },
  Base64: { words: ["base64"] },
  HexColor: { words: ["hex color"] },
  Semver: { words: ["semver"] },
  Toml: { words: ["toml"] },
  UriReference: { words: ["uri reference"] },
  DataUrl: { words: ["data url"] },
  MacAddress: { words: ["mac address"] },
} as const satisfies Record<string, FormatSpec>;

export type BaseOperatorName = keyof typeof OPERATORS;
export type FormatName = keyof typeof FORMATS;
export type ValidatorName = `IsValid${FormatName}` | `IsNotValid${FormatName}`;
export type OperatorName = BaseOperatorName | ValidatorName;

export const BASE_OPERATOR_NAMES = Object.freeze(Object.keys(OPERATORS) as BaseOperatorName[]);
export const FORMAT_NAMES_IN_TABLE = Object.freeze(Object.keys(FORMATS) as FormatName[]);

/** The validator pair of a format: its operator names and phrasings. */
export function validatorsOf(format: FormatName): { name: ValidatorName; negated: boolean; phrases: string[]; description: string }[] {
  const words: readonly string[] = FORMATS[format].words;
  const main = words[0] as string;
  return [
    {
      name: `IsValid${format}`,
      negated: false,
      phrases: words.map((w) => `is a valid ${w}`),
      description: `Left string is a valid ${main}.`,
    },
    {
      name: `IsNotValid${format}`,
      negated: true,
      phrases: words.map((w) => `is not a valid ${w}`),
      description: `Left string is not a valid ${main} (false when missing or not a string).`,
    },
  ];
}
