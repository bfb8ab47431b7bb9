/**
 * The string formats of docs/language.md#formats-and-patterns (`is a valid X`, `has the format "X"`).
 *
 * Every check runs in time linear in the value's length: values come from request data, so a format check must
 * never be a denial-of-service lever. Regular expressions that could backtrack badly go through RE2 (re2js);
 * the others are fixed-length or single-class patterns that cannot backtrack more than once per character.
 */
import { isIPv4, isIPv6 } from "node:net";
import { RE2JS } from "re2js";
import { parse as parseToml } from "smol-toml";
import { FORMAT_NAMES_IN_TABLE, FORMATS, type FormatName } from "./operator-table.js";

/** Every validator phrase word / `has format` name of docs/language.md#formats-and-patterns (operator-table.ts). */
export const FORMAT_NAMES: readonly string[] = Object.freeze(FORMAT_NAMES_IN_TABLE.flatMap((format) => FORMATS[format].words));

// The four expressions the formats are defined by (email, uuid, hex color, data url).
const EMAIL_SOURCE =
  "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\\.[A-Za-z]{2,}$";
const UUID_SOURCE = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const HEX_COLOR_SOURCE = "^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$";
const DATA_URL_SOURCE = "^data:(?:[a-z]+/[a-z0-9.+-]+)?(?:;[a-z0-9-]+=[^;,]+)*(?:;base64)?,[\\s\\S]*$";

// EMAIL's nested optional groups backtrack polynomially in a JS engine; RE2 runs them linearly. The expression
// uses only ASCII classes, `^`, `$` and escaped dots, whose meaning is identical in RE2 and ECMAScript.
const EMAIL = RE2JS.compile(EMAIL_SOURCE);
// DATA_URL's `[\s\S]` is "any character" in both dialects; its letters are all lowercase and its negated classes
// are closed under case, so lowering ASCII letters of the value reproduces ECMAScript's `/i` (which, without the
// `u` flag, folds only ASCII here) without RE2's wider Unicode folding (ſ, K).
const DATA_URL = RE2JS.compile(DATA_URL_SOURCE);
const UUID = new RegExp(UUID_SOURCE);
const HEX_COLOR = new RegExp(HEX_COLOR_SOURCE);

// SemVer 2.0.0's own recommended expression (semver.org). The `semver` npm package is not used: its strict
// parser still accepts a leading `v`/`=`, trims whitespace and caps length and numeric size.
const SEMVER = RE2JS.compile(
  "^(?:0|[1-9][0-9]*)\\.(?:0|[1-9][0-9]*)\\.(?:0|[1-9][0-9]*)" +
    "(?:-(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?" +
    "(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?$",
);

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?$/;
const OFFSET = /^(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const PHONE_DIGITS = /^\d{7,15}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAC = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$|^[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}$/;
const CIDR_V4_PREFIX = /^(?:[0-9]|[12][0-9]|3[0-2])$/;
const CIDR_V6_PREFIX = /^(?:[0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$/;

/** Lowercases ASCII letters only and collapses whitespace runs (space, tab, CR, LF: docs/language.md#text-and-comments) into one space. */
function normalizeName(name: string): string {
  return name.replace(/[ \t\r\n]+/g, " ").replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Each word of the table to its format. */
const FORMAT_OF_WORD: ReadonlyMap<string, FormatName> = new Map(
  FORMAT_NAMES_IN_TABLE.flatMap((format) => FORMATS[format].words.map((word) => [word, format] as const)),
);

export function isFormatName(name: string): boolean {
  return FORMAT_OF_WORD.has(normalizeName(name));
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isDate(value: string): boolean {
  const m = DATE.exec(value);
  if (m === null) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const max = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  return day <= max;
}

function isTime(value: string): boolean {
  return TIME.test(value);
}

/** A time followed by an optional `Z` / `±HH:MM`; the time itself never contains `Z`, `+` or `-`. */
function isTimeWithOptionalOffset(value: string): boolean {
  const at = value.search(/[Z+-]/);
  if (at === -1) return isTime(value);
  return isTime(value.slice(0, at)) && OFFSET.test(value.slice(at));
}

function isDateTime(value: string): boolean {
  const sep = value.charAt(10);
  if (sep !== "T" && sep !== " ") return false;
  return isDate(value.slice(0, 10)) && isTimeWithOptionalOffset(value.slice(11));
}

function isIso8601(value: string): boolean {
  if (value.length === 10) return isDate(value);
  return value.charAt(10) === "T" && isDate(value.slice(0, 10)) && isTimeWithOptionalOffset(value.slice(11));
}

function isUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
}

function isPhone(value: string): boolean {
  const stripped = value.replace(/[ \-.()]/g, "");
  return PHONE_DIGITS.test(stripped.startsWith("+") ? stripped.slice(1) : stripped);
}

// Node's isIPv6 also accepts a `%zone` suffix, which docs/language.md#formats-and-patterns excludes.
function isIpv6(value: string): boolean {
  return !value.includes("%") && isIPv6(value);
}

function isCidr(value: string): boolean {
  const slash = value.lastIndexOf("/");
  if (slash === -1) return false;
  const address = value.slice(0, slash);
  const prefix = value.slice(slash + 1);
  if (isIPv4(address)) return CIDR_V4_PREFIX.test(prefix);
  if (isIpv6(address)) return CIDR_V6_PREFIX.test(prefix);
  return false;
}

function isJson(value: string): boolean {
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

function isBase64(value: string): boolean {
  return value.length > 0 && value.length % 4 === 0 && BASE64.test(value);
}

function isToml(value: string): boolean {
  try {
    // BigInt integers: TOML allows 64-bit integers that a double cannot hold exactly.
    parseToml(value, { integersAsBigInt: true });
    return true;
  } catch {
    return false;
  }
}

function isDataUrl(value: string): boolean {
  return DATA_URL.test(value.replace(/[A-Z]/g, (c) => c.toLowerCase()));
}

// RFC 3986 character sets. Anything outside ASCII is invalid in a URI (that would be an IRI).
const PCT_OR_PCHAR_SLASH_QMARK = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
const PCT_OR_PCHAR_SLASH = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const USERINFO = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$/;
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
const IP_FUTURE = /^v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;
const PORT = /^[0-9]*$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
// RFC 3986 appendix B: splits any string into the five components without judging them.
const URI_PARTS = /^(?:([^:/?#]+):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#([\s\S]*))?$/;

function isAuthority(authority: string): boolean {
  const at = authority.lastIndexOf("@");
  if (at !== -1 && !USERINFO.test(authority.slice(0, at))) return false;
  const hostPort = authority.slice(at + 1);
  let port = "";
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    if (close === -1) return false;
    const literal = hostPort.slice(1, close);
    if (!isIpv6(literal) && !IP_FUTURE.test(literal)) return false;
    const rest = hostPort.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return false;
      port = rest.slice(1);
    }
  } else {
    const colon = hostPort.indexOf(":");
    const host = colon === -1 ? hostPort : hostPort.slice(0, colon);
    if (colon !== -1) port = hostPort.slice(colon + 1);
    // IPv4address is a subset of reg-name's characters, so reg-name alone decides.
    if (!REG_NAME.test(host)) return false;
  }
  return PORT.test(port);
}

function isUriReference(value: string): boolean {
  const m = URI_PARTS.exec(value);
  if (m === null) return false;
  const [, scheme, authority, path = "", query, fragment] = m;
  if (scheme !== undefined && !SCHEME.test(scheme)) return false;
  if (authority !== undefined && !isAuthority(authority)) return false;
  if (!PCT_OR_PCHAR_SLASH.test(path)) return false;
  // path-noscheme: without a scheme, a colon in the first segment of a relative path would read as a scheme.
  if (scheme === undefined && authority === undefined && !path.startsWith("/")) {
    const firstSegment = path.split("/", 1)[0] ?? "";
    if (firstSegment.includes(":")) return false;
  }
  if (query !== undefined && !PCT_OR_PCHAR_SLASH_QMARK.test(query)) return false;
  if (fragment !== undefined && !PCT_OR_PCHAR_SLASH_QMARK.test(fragment)) return false;
  return true;
}

/** One check per format of the table: `satisfies` makes a format without a check a type error. */
const CHECKS = {
  Email: (v) => EMAIL.test(v),
  Url: isUrl,
  Uuid: (v) => UUID.test(v),
  Phone: isPhone,
  Date: isDate,
  Time: isTime,
  Datetime: isDateTime,
  Iso8601: isIso8601,
  IpAddress: (v) => isIPv4(v) || isIpv6(v),
  Ipv4Address: (v) => isIPv4(v),
  Ipv6Address: isIpv6,
  Cidr: isCidr,
  Json: isJson,
  Base64: isBase64,
  HexColor: (v) => HEX_COLOR.test(v),
  Semver: (v) => SEMVER.test(v),
  Toml: isToml,
  UriReference: isUriReference,
  DataUrl: isDataUrl,
  MacAddress: (v) => MAC.test(v),
} satisfies Record<FormatName, (value: string) => boolean>;

/**
 * True when `value` is valid for the format `name` (matched like `isFormatName`).
 * An unknown name is a programming error (the parser rejects unknown names), so it throws a RangeError.
 */
export function checkFormat(name: string, value: string): boolean {
  return formatCheck(name)(value);
}

/** The format a policy names (matched like `isFormatName`); an unknown name is a programming error, a RangeError. */
export function formatOf(name: string): FormatName {
  const format = FORMAT_OF_WORD.get(normalizeName(name));
  if (format === undefined) throw new RangeError(`unknown format name: ${JSON.stringify(name)}`);
  return format;
}

/** The check of the format `name`, looked up once when a condition is compiled. */
export function formatCheck(name: string): (value: string) => boolean {
  return CHECKS[formatOf(name)];
}
