import { describe, expect, it } from "vitest";
import { FORMAT_NAMES, checkFormat, isFormatName } from "../../src/engine/formats.js";

/** format name → [valid examples, invalid examples] */
const CASES: Record<string, [string[], string[]]> = {
  email: [
    ["user@example.com", "a.b+c@sub.example.co", "x_y-z@a-b.io", "!#$%&'*+/=?^_`{|}~-@ex.am.ple.org"],
    [
      "not-an-email",
      "",
      "user@",
      "@example.com",
      "user@example",
      "user@-example.com",
      "user@example-.com",
      "user@example.c",
      "us er@example.com",
      "user@@example.com",
      "user@exa_mple.com",
      "user@example.com\n",
    ],
  ],
  url: [
    ["http://example.com", "https://example.com/a?b=c#d", "https://user:pw@127.0.0.1:8080/", "HTTP://EXAMPLE.COM", "https://[::1]/"],
    ["ftp://example.com", "example.com", "/relative/path", "http://", "mailto:a@b.c", "file:///etc/passwd", "", "http//x"],
  ],
  uuid: [
    ["550e8400-e29b-41d4-a716-446655440000", "00000000-0000-0000-0000-000000000000", "550E8400-E29B-01D4-Z716-446655440000".replace("Z", "A")],
    [
      "1234",
      "550e8400e29b41d4a716446655440000",
      "{550e8400-e29b-41d4-a716-446655440000}",
      "550e8400-e29b-41d4-a716-44665544000g",
      "550e8400-e29b-41d4-a716-4466554400000",
    ],
  ],
  phone: [
    ["+1 (555) 123-4567", "5551234", "123456789012345", "+44.20.7946.0958", "(+44) 20 7946 0958"],
    ["123456", "1234567890123456", "++15551234567", "555-CALL-NOW", "", "+", "555 123 4567 ext 1", "１２３４５６７"],
  ],
  date: [
    ["2024-02-29", "2000-02-29", "2025-09-16", "0001-01-01", "2023-12-31"],
    ["2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-1-05", "20240105", "2024-01-05T00:00", ""],
  ],
  time: [
    ["00:00", "23:59", "12:30:45", "12:30:45.123", "23:59:59.9"],
    ["24:00", "12:60", "12:30:60", "1:30", "12:30.5", "12:30:45.", "12:30:45Z", "", "12"],
  ],
  datetime: [
    ["2024-01-15T10:30", "2024-01-15 10:30:00", "2024-01-15T10:30:00Z", "2024-01-15T10:30:00.5+05:30", "2024-01-15T10:30-08:00"],
    [
      "2024-01-15",
      "2024-01-15T",
      "2024-02-30T10:30",
      "2024-01-15T25:00",
      "2024-01-15t10:30",
      "2024-01-15T10:30+5:30",
      "2024-01-15T10:30:00+24:00",
      "2024-01-15T10:30Zx",
    ],
  ],
  iso8601: [
    ["2024-01-15", "2024-01-15T10:30", "2024-01-15T10:30:00.123Z", "2024-01-15T10:30:00-03:00"],
    ["2024-01-15 10:30", "2024-01-15Z", "2024-01-15T", "15/01/2024", "2024-W03", ""],
  ],
  ip: [
    ["192.168.1.10", "2001:db8::1", "::", "::ffff:192.168.1.1", "0.0.0.0"],
    ["999.1.1.1", "192.168.01.1", "1.2.3", "fe80::1%eth0", "2001:db8::1::2", "", "localhost"],
  ],
  ipv4: [
    ["192.168.1.10", "255.255.255.255", "0.0.0.0", "10.0.0.1"],
    ["256.1.1.1", "01.2.3.4", "1.2.3.4.5", "1.2.3", "2001:db8::1", " 1.2.3.4", "1.2.3.-4"],
  ],
  ipv6: [
    ["2001:db8::1", "::1", "::", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "FE80::ABCD"],
    ["192.168.1.10", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", "12345::1", ":::", "::ffff:01.2.3.4", "[::1]"],
  ],
  cidr: [
    ["10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/0", "1.2.3.4/32", "2001:db8::/32", "::/0", "::1/128"],
    ["10.0.0.0/33", "10.0.0.0", "10.0.0.0/", "2001:db8::/129", "10.0.0.0/08", "10.0.0.0/-1", "999.0.0.0/8", "/8"],
  ],
  json: [
    ['{"a":1}', "[1,2]", "1", '"x"', "null", " true "],
    ["", "{a:1}", "[1,]", "'x'", "undefined", "NaN", "{"],
  ],
  base64: [
    ["SGVsbG8=", "SGVsbG8h", "SGk=", "AA==", "ab+/"],
    ["", "SGVsbG8", "SGVsbG8===", "SG=k", "SGVs bG8=", "SGVsbG8-", "A===", "===="],
  ],
  "hex color": [
    ["#fff", "#FFFF", "#a1b2c3", "#A1B2C3D4"],
    ["fff", "#ff", "#fffff", "#fffffff", "#ggg", "#a1b2c3d4e5", ""],
  ],
  semver: [
    [
      "1.0.0",
      "0.0.0",
      "10.20.30",
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-0.3.7",
      "1.0.0-x.7.z.92",
      "1.0.0+20130313144700",
      "1.0.0-beta+exp.sha.5114f85",
      "1.0.0-x-y-z.--",
      "99999999999999999999999.0.0",
    ],
    ["v1.0.0", "1.0", "1.0.0.0", "01.0.0", "1.02.0", "1.0.0-01", "1.0.0-", "1.0.0+", "1.0.0-alpha..1", " 1.0.0", "=1.0.0", "1.0.0-α"],
  ],
  toml: [
    ['a = 1\n[table]\nkey = "value"\n', "", "# only a comment", "x = 9223372036854775807", "d = 1979-05-27T07:32:00Z"],
    ["a = ", "a = 1\na = 2", "[table\n", "key = 'unterminated", "= 1"],
  ],
  "uri reference": [
    [
      "https://example.com/a/b?c=d#e",
      "mailto:user@example.com",
      "urn:isbn:0451450523",
      "/relative/path",
      "../up",
      "",
      "?query",
      "#frag",
      "//host:80/path",
      "a%20b",
      "http://[::1]:8080/",
      "http://[v1.fe]/",
      "./a:b",
    ],
    [
      "has space",
      "a%2",
      "a%zz",
      "http://exa mple.com",
      "http://[::1/",
      "http://host:port/",
      ":no-scheme",
      "a:b:c/%",
      "1abc:def",
      "http://[fe80::1%25eth0]/",
      "https://example.com/ü",
      "#a#b",
      "http://a@b@c/",
    ],
  ],
  "data url": [
    ["data:,Hello", "data:text/plain;base64,SGVsbG8=", "DATA:TEXT/PLAIN;CHARSET=UTF-8,x", "data:;base64,", "data:image/svg+xml;a=b;c=d,<svg/>"],
    ["data:text/plain", "http://x", "data:text/;base64,x", "data:;charset,x", "data:text/plain;charſet=utf-8,x", "data :,x"],
  ],
  "mac address": [
    ["00:1A:2b:3c:4D:5e", "00-1A-2B-3C-4D-5E", "ff:ff:ff:ff:ff:ff"],
    ["00:1A:2B-3C:4D:5E", "00:1A:2B:3C:4D", "00:1A:2B:3C:4D:5E:6F", "001A.2B3C.4D5E", "0:1A:2B:3C:4D:5E", "gg:1A:2B:3C:4D:5E"],
  ],
};
CASES["phone number"] = CASES.phone!;
CASES["ip address"] = CASES.ip!;
CASES["ipv4 address"] = CASES.ipv4!;
CASES["ipv6 address"] = CASES.ipv6!;

describe("FORMAT_NAMES", () => {
  it("lists exactly the 24 names of docs/language.md#formats-and-patterns", () => {
    expect([...FORMAT_NAMES].sort()).toEqual(Object.keys(CASES).sort());
    expect(FORMAT_NAMES).toHaveLength(24);
  });
});

describe("isFormatName", () => {
  it("accepts every name, case-insensitively and with whitespace runs collapsed", () => {
    for (const name of FORMAT_NAMES) {
      expect(isFormatName(name)).toBe(true);
      expect(isFormatName(name.toUpperCase())).toBe(true);
      expect(isFormatName(name.replace(" ", " \t\n "))).toBe(true);
    }
    expect(isFormatName("Phone   Number")).toBe(true);
    expect(isFormatName("IPv4\tAddress")).toBe(true);
  });
  it("rejects unknown names", () => {
    for (const name of ["", "e-mail", "phonenumber", "ipv5", "credit card", "hexcolor", " email", "email "]) {
      expect(isFormatName(name), name).toBe(false);
    }
  });
});

describe("checkFormat", () => {
  for (const [name, [valid, invalid]] of Object.entries(CASES)) {
    it(`${name}: valid examples`, () => {
      for (const value of valid) expect(checkFormat(name, value), JSON.stringify(value)).toBe(true);
    });
    it(`${name}: invalid examples`, () => {
      for (const value of invalid) expect(checkFormat(name, value), JSON.stringify(value)).toBe(false);
    });
  }

  it("matches the name like isFormatName does", () => {
    expect(checkFormat("Hex  Color", "#fff")).toBe(true);
    expect(checkFormat("EMAIL", "user@example.com")).toBe(true);
  });

  it("throws on an unknown name (the parser must reject it first)", () => {
    expect(() => checkFormat("nope", "x")).toThrow(RangeError);
  });

  it("reproduces the worked examples W30–W33", () => {
    // W30 / W32 (`has the format "email"` behaves like `is a valid email`)
    expect(checkFormat("email", "user@example.com")).toBe(true);
    expect(checkFormat("email", "not-an-email")).toBe(false);
    // W31
    expect(checkFormat("uuid", "1234")).toBe(false);
    expect(checkFormat("uuid", "550e8400-e29b-41d4-a716-446655440000")).toBe(true);
    expect(checkFormat("ip address", "192.168.1.10")).toBe(true);
    expect(checkFormat("ip address", "2001:db8::1")).toBe(true);
    expect(checkFormat("ip address", "999.1.1.1")).toBe(false);
  });

  it("stays fast on long adversarial values (linear-time checks)", () => {
    // No timing assertion: these would take minutes with a backtracking engine on the spec's EMAIL expression.
    const long = "a".repeat(200_000);
    expect(checkFormat("email", `${long}@${"a-".repeat(50_000)}`)).toBe(false);
    expect(checkFormat("email", `a@${"a.".repeat(50_000)}a!`)).toBe(false);
    expect(checkFormat("data url", `data:;${"a=b;".repeat(50_000)}`)).toBe(false);
    expect(checkFormat("semver", `1.0.0-${"1a.".repeat(50_000)}`)).toBe(false);
    expect(checkFormat("uri reference", `${"a".repeat(100_000)}%`)).toBe(false);
    expect(checkFormat("base64", `${"A".repeat(100_000)}=A`)).toBe(false);
  });
});
