/**
 * Worked examples W01–W66 of the policy language (today = 2025-09-16), one test per example; the language is
 * described in docs/language.md, whose own examples are run by test/language/guide-examples.test.ts.
 * Expected values are `true`/`false` (the result, no error) or `{ error: "…" }` (the complete error text).
 */
import { describe, expect, it } from "vitest";
import { runPolicy } from "../../src/engine/index.js";
import { DRIVING_TEST_POLICY, drivingTestData } from "../support/driving-test.js";

const now = new Date("2025-09-16T00:00:00Z");
type Expected = boolean | { error: string } | { labels: Record<string, boolean> | null; result: boolean };

function check(rule: string, data: unknown, expected: Expected): void {
  const res = runPolicy(rule, data, { now });
  if (typeof expected === "boolean") {
    expect(res.error, JSON.stringify(data)).toBeNull();
    expect(res.result, JSON.stringify(data)).toBe(expected);
  } else if ("error" in expected) {
    expect(res.error).toBe(expected.error);
    expect(res.result).toBe(false);
  } else {
    expect(res.error).toBeNull();
    expect(res.result).toBe(expected.result);
    expect(res.labels).toEqual(expected.labels);
  }
}

function ex(id: string, rule: string, cases: [unknown, Expected][]): void {
  it(id, () => {
    for (const [data, expected] of cases) check(rule, data, expected);
  });
}

describe("comparison and equality", () => {
  ex("W01", "A **Person** gets approved if __age__ of **Person** is greater than 18.", [
    [{ Person: { age: 25 } }, true],
    [{ Person: { age: 18 } }, false],
    [{ person: { age: 30 } }, true],
  ]);
  ex("W02", "A **Parcel** ships if __weight__ of **Parcel** is no more than 30 and __value__ of **Parcel** is at least 10.", [
    [{ Parcel: { weight: 30, value: 10 } }, true],
    [{ Parcel: { weight: 31, value: 10 } }, false],
  ]);
  ex("W03", "A **user** is adult if __age__ of **user** is greater than 18.", [
    [{ user: { age: "twenty" } }, false],
    [{ user: { age: "25" } }, false],
    [{ user: {} }, false],
  ]);
  ex("W04", "A **user** is valid if __age__ of **user** is greater than __min_age__ of **config**.", [
    [{ user: { age: 25 }, config: { min_age: 18 } }, true],
    [{ user: { age: 25 } }, false],
  ]);
  ex("W05", 'A **User** is active if __status__ of **User** is equal to "active".', [[{ User: { status: "ACTIVE" } }, true]]);
  it("W06", () => {
    check('A **Token** is valid if __code__ of **Token** is exactly "Bearer abc123".', { Token: { code: "Bearer abc123" } }, true);
    check('A **Token** is valid if __code__ of **Token** is exactly "Bearer abc123".', { Token: { code: "bearer ABC123" } }, false);
    check('A **Token** is valid if __code__ of **Token** is equal to "Bearer abc123".', { Token: { code: "bearer ABC123" } }, true);
  });
  ex("W07", 'A **User** is allowed if __status__ of **User** is not equal to "banned".', [
    [{ User: { status: "active" } }, true],
    [{ User: { status: "BANNED" } }, false],
    [{ User: {} }, false],
  ]);
  it("W08", () => {
    const r = "A **user** joined on launch day if __joinDate__ of **user** is equal to date(2023-01-15).";
    check(r, { user: { joinDate: "2023-01-15" } }, true);
    check(r, { user: { joinDate: "15/01/2023" } }, false);
    check('A **user** joined on launch day if __joinDate__ of **user** is equal to "2023-01-15".', { user: { joinDate: "2023-01-15" } }, true);
  });
  ex("W09", "A **user** is premium if __is_premium__ of **user** is equal to true.", [
    [{ user: { isPremium: true } }, true],
    [{ user: { IS_PREMIUM: true } }, true],
    [{ user: { ISPREMIUM: true } }, true],
    [{ user: { is_premium: true, isPremium: false } }, true],
    [{ user: { isPremium: false, IS_PREMIUM: true } }, true],
  ]);
  ex("W10", 'A **Person** is local if the __city__ of the __address__ of the **Person** is equal to "Leeds".', [
    [{ Person: { address: { city: "leeds" } } }, true],
    [{ Person: { address: "Leeds" } }, false],
  ]);
  it("W11", () => {
    const res = runPolicy(
      "A **student** is eligible if the __faculty sponsor confirmed__ of the **advisor.agreement** in the **student** is equal to true.",
      { student: { advisor: { agreement: { facultySponsorConfirmed: true } } } },
      { now },
    );
    expect(res.result).toBe(true);
    expect(res.trace?.execution[0]?.conditions[0]?.property).toEqual({
      value: true,
      path: "$.student.advisor.agreement.facultySponsorConfirmed",
    });
  });
  it("W12", () => {
    const res = runPolicy(
      'A **x** is ok if __center__ of **driving test.test dates.practical** is equal to "Manchester".',
      { drivingTest: { testDates: { practical: { center: "Manchester" } } } },
      { now },
    );
    expect(res.result).toBe(true);
    expect((res.trace?.execution[0]?.conditions[0]?.property as { path: string } | undefined)?.path).toBe("$.drivingTest.testDates.practical.center");
  });
});

describe("lists and strings", () => {
  ex("W13", 'A **Product** is on sale if __category__ of **Product** is in ["electronics", "books"].', [
    [{ Product: { category: "Books" } }, true],
    [{ Product: { category: "furniture" } }, false],
    [{ Product: {} }, false],
  ]);
  ex("W14", 'A **Product** is full price if __category__ of **Product** is not in ["electronics", "books"].', [
    [{ Product: { category: "furniture" } }, true],
    [{ Product: {} }, false],
  ]);
  ex(
    "W15",
    `A **user** can access a system
  if **user** is part of allowed group.
A **user** is part of allowed group
  if __id__ of __group__ of **user** is in __allowed groups__ of __permissions__ of **service**.`,
    [
      [{ user: { group: { id: 1 } }, service: { permissions: { allowedGroups: [9, 8, 3, 1] } } }, true],
      [{ user: { group: { id: 5 } }, service: { permissions: { allowedGroups: [9, 8, 3, 1] } } }, false],
    ],
  );
  it("W16", () => {
    const d = { x: { items: ["apple", 42, true] } };
    check("A **x** is ok if __items__ of **x** contains 42.", d, true);
    check('A **x** is ok if __items__ of **x** contains "APPLE".', d, true);
    check('A **x** is ok if __items__ of **x** contains "orange".', d, false);
  });
  it("W17", () => {
    const a = 'A **User** can publish if __permissions__ of **User** contains all of ["read", "write"].';
    check(a, { User: { permissions: ["read", "write", "admin"] } }, true);
    check(a, { User: { permissions: ["READ"] } }, false);
    const b = 'A **User** is staff if __roles__ of **User** contains any of ["admin", "editor"].';
    check(b, { User: { roles: ["viewer", "Editor"] } }, true);
    check(b, { User: { roles: "admin" } }, false);
  });
  ex("W18", 'A **document** is flagged if __content__ of **document** contains "ass".', [
    [{ document: { content: "a class about assistance" } }, false],
    [{ document: { content: "What an ass!" } }, true],
    [{ document: { content: "ASS is rude" } }, true],
  ]);
  it("W19", () => {
    check('A **login** is plausible if __username__ of **login** contains "@".', { login: { username: "user@example.com" } }, true);
    const r = 'A **text** is flagged if __content__ of **text** contains "hell".';
    check(r, { text: { content: "hello world" } }, false);
    check(r, { text: { content: "go to hell" } }, true);
  });
  it("W20", () => {
    const a = 'A **User** is a John if __name__ of **User** starts with "jo".';
    check(a, { User: { name: "John" } }, true);
    check(a, { User: { name: "Bob" } }, false);
    check('A **User** is commercial if __email__ of **User** ends with ".com".', { User: { email: "a@example.COM" } }, true);
  });
});

describe("empty, null, existence", () => {
  it("W21", () => {
    const empty = "A **Order** has no notes if __notes__ of **Order** is empty.";
    const notEmpty = "A **Order** has notes if __notes__ of **Order** is not empty.";
    for (const d of [{ notes: "" }, { notes: null }, { notes: [] }, { notes: {} }, {}]) {
      check(empty, { Order: d }, true);
      check(notEmpty, { Order: d }, false);
    }
    for (const d of [{ notes: "hello" }, { notes: 0 }, { notes: false }]) {
      check(empty, { Order: d }, false);
      check(notEmpty, { Order: d }, true);
    }
  });
  it("W22", () => {
    const a = "A **User** has an email if __email__ of **User** exists.";
    check(a, { User: { email: "a@b.co" } }, true);
    check(a, { User: { email: null } }, false);
    check(a, { User: {} }, false);
    const b = "A **User** is unreachable if __email__ of **User** is null.";
    check(b, { User: {} }, true);
    check(b, { User: { email: null } }, true);
    check(b, { User: { email: "x" } }, false);
  });
});

describe("dates and durations", () => {
  ex("W23", 'A **Subscription** is active if the __expiry date__ of the **Subscription** is later than "2023-01-01".', [
    [{ Subscription: { expiryDate: "2023-12-31" } }, true],
    [{ Subscription: { expiryDate: "2022-12-31" } }, false],
  ]);
  ex("W24", "A **Order** is late if __shipped_at__ of **Order** is later than date(2024-01-15).", [
    [{ Order: { shipped_at: "2024-01-15T23:59:00Z" } }, false],
    [{ Order: { shipped_at: "2024-01-16T00:00:01Z" } }, true],
    [{ Order: { shipped_at: 1705363200 } }, false],
  ]);
  ex("W25", "A **user** is recent if __last_login__ of **user** is within 30 days.", [
    [{ user: { last_login: "2025-09-06" } }, true],
    [{ user: { last_login: "2025-07-28" } }, false],
    [{ user: { last_login: "2025-10-10" } }, true],
  ]);
  it("W26", () => {
    const a = "A **driver** is allowed to drive if the __date_of_birth__ of the **driver** is older than 18 years.";
    check(a, { driver: { date_of_birth: "2000-01-01" } }, true);
    check(a, { driver: { date_of_birth: "2008-01-01" } }, false);
    check(
      "A **child** gets child pricing if the __date_of_birth__ of the **child** is younger than 12 years.",
      { child: { date_of_birth: "2020-06-15" } },
      true,
    );
  });
  ex("W27", "A **Contract** is long if __start_date__ of **Contract** is older than 1 year of __end_date__ of **Contract**.", [
    [{ Contract: { start_date: "2023-01-01", end_date: "2024-06-01" } }, true],
    [{ Contract: { start_date: "2024-01-01", end_date: "2024-06-01" } }, false],
  ]);
  it("W28", () => {
    const past = "A **License** is expired if __expiry__ of **License** is in the past.";
    const future = "A **License** is pending if __expiry__ of **License** is in the future.";
    check(past, { License: { expiry: "2020-01-01" } }, true);
    check(past, { License: { expiry: "2025-09-16" } }, false);
    check(future, { License: { expiry: "2025-09-16" } }, false);
    check(past, { License: { expiry: "2030-01-01" } }, false);
    check(future, { License: { expiry: "2030-01-01" } }, true);
  });
  ex("W29", "A **user** is working age if __age__ of **user** is between 18 and 65.", [
    [{ user: { age: 18 } }, true],
    [{ user: { age: 65 } }, true],
    [{ user: { age: 66 } }, false],
    [{ user: { age: "30" } }, false],
  ]);
});

describe("validators, formats, patterns", () => {
  it("W30", () => {
    const a = "A **User** passes the check if __email__ of **User** is a valid email.";
    check(a, { User: { email: "user@example.com" } }, true);
    check(a, { User: { email: "not-an-email" } }, false);
    check(a, { User: {} }, false);
    const b = "A **User** passes the check if __email__ of **User** is not a valid email.";
    check(b, { User: { email: "not-an-email" } }, true);
    check(b, { User: {} }, false);
  });
  it("W31", () => {
    const a = "A **Record** is legacy if __id__ of **Record** is not a valid uuid.";
    check(a, { Record: { id: "1234" } }, true);
    check(a, { Record: { id: "550e8400-e29b-41d4-a716-446655440000" } }, false);
    const b = "A **Network** is routable if __ip__ of **Network** is a valid ip address.";
    check(b, { Network: { ip: "192.168.1.10" } }, true);
    check(b, { Network: { ip: "2001:db8::1" } }, true);
    check(b, { Network: { ip: "999.1.1.1" } }, false);
  });
  it("W32", () => {
    const a = 'A **User** passes the check if __email__ of **User** has the format "email".';
    check(a, { User: { email: "user@example.com" } }, true);
    check(a, { User: { email: "not-an-email" } }, false);
    check(a, { User: {} }, false);
    const b = 'A **Product** passes the check if __code__ of **Product** matches pattern "^[A-Z]{3}-\\d{4}$".';
    check(b, { Product: { code: "ABC-1234" } }, true);
    check(b, { Product: { code: "AB-12" } }, false);
  });
  ex("W33", 'An **account** has an api key if the __api_key__ of the **account** matches regex "^.+$".', [
    [{ account: { api_key: "k1" } }, true],
    [{ account: { api_key: "" } }, false],
    [{ account: { api_key: null } }, false],
  ]);
});

describe("length, quantifiers, aggregates, arithmetic", () => {
  ex("W34", "A **user** is valid if the length of __name__ of **user** is greater than 5.", [
    [{ user: { name: "bobby socks" } }, true],
    [{ user: { name: "bob" } }, false],
    [{ user: { name: null } }, false],
    [{ user: {} }, false],
    [{ user: { name: 42 } }, { error: "Evaluation error: Cannot calculate length of 42" }],
  ]);
  it("W35", () => {
    check("A **user** has sufficient data if the length of __profile__ of **user** is greater than 2.", { user: { profile: { a: 1, b: 2, c: 3 } } }, true);
    const b = "A **user** is valid if the number of __items__ of **user** is greater than 3.";
    check(b, { user: { items: [1, 2, 3, 4, 5] } }, true);
    check(b, { user: { items: "tester" } }, { error: 'Evaluation error: Cannot calculate number of "tester" for non array' });
  });
  it("W36", () => {
    const a = 'A **Article** is featured if any __tags__ of **Article** is equal to "featured".';
    check(a, { Article: { tags: ["news", "Featured"] } }, true);
    check(a, { Article: { tags: [] } }, false);
    const b = "A **Test** is passed if all __scores__ of **Test** is greater than 50.";
    check(b, { Test: { scores: [60, 70] } }, true);
    check(b, { Test: { scores: [60, 40] } }, false);
    check(b, { Test: { scores: [] } }, true);
    check(b, { Test: {} }, false);
  });
  it("W37", () => {
    const body = `
    if __QUANT__ __items__ of **Order**
    where (its __status__ is equal to "ready" and its __quantity__ is greater than 0).`;
    const anyRule = "A **Order** is ready to ship" + body.replace("__QUANT__", "any");
    const allRule = "A **Order** is ready to ship" + body.replace("__QUANT__", "all");
    check(
      anyRule,
      {
        Order: {
          items: [
            { status: "ready", quantity: 2 },
            { status: "pending", quantity: 5 },
          ],
        },
      },
      true,
    );
    check(
      anyRule,
      {
        Order: {
          items: [
            { status: "ready", quantity: 0 },
            { status: "pending", quantity: 5 },
          ],
        },
      },
      false,
    );
    check(anyRule, { Order: { items: [] } }, false);
    check(allRule, { Order: { items: [] } }, true);
  });
  it("W38", () => {
    const a = "A **Order** is big if the sum of __prices__ of **Order** is greater than 100.";
    check(a, { Order: { prices: ["50", "60"] } }, true);
    check(a, { Order: { prices: [10, 20] } }, false);
    check(a, { Order: { prices: [10, "x"] } }, { error: 'Type error: sum of requires numbers, got "x"' });
    const b = "A **Student** is strong if the average of __scores__ of **Student** is at least 70.";
    check(b, { Student: { scores: [70, 80] } }, true);
    check(b, { Student: { scores: [] } }, false);
  });
  it("W39", () => {
    const a = "A **Order** is large if __subtotal__ of **Order** + __tax__ of **Order** * 2 is greater than 100.";
    check(a, { Order: { subtotal: 80, tax: 15 } }, true);
    check(a, { Order: { subtotal: 60, tax: 15 } }, false);
    const b = "A **Order** is large if (__subtotal__ of **Order** + __tax__ of **Order**) * 2 is greater than 100.";
    check(b, { Order: { subtotal: 60, tax: 15 } }, true);
  });
  ex("W40", "A **Store** is profitable if __revenue__ of **Store** / __expenses__ of **Store** is greater than 1.5.", [
    [{ Store: { revenue: 300, expenses: 100 } }, true],
    [{ Store: { revenue: 100, expenses: 0 } }, { error: "Evaluation error: Division by zero" }],
  ]);
  ex("W41", "A **Order** passes the check if __subtotal__ of **Order** plus __tax__ of **Order** is greater than 100.", [
    [{ Order: { subtotal: "80", tax: 30 } }, true],
    [{ Order: { subtotal: 80, tax: "abc" } }, { error: 'Type error: Arithmetic requires numbers, got "abc"' }],
    [{ Order: { subtotal: 80 } }, false],
  ]);
  it("W42", () => {
    check("A **x** passes the check if sqrt(81) is equal to max(2, min(9, 4)) and clamp(20, 0, 10) is equal to 10.", {}, false);
    const b = "A **Applicant** is strong if __score__ of **Applicant** power of 2 is greater than 49.";
    check(b, { Applicant: { score: 8 } }, true);
    check(b, { Applicant: { score: 7 } }, false);
  });
  it("unary minus binds looser than power: -2 ^ 2 is -4", () => {
    check("A **x** is ok if -2 ^ 2 is equal to -4.", {}, true);
  });
});

describe("computed values and lookups", () => {
  ex(
    "W43",
    "total_requested := **requestedUnits** plus **reservedUnits**.\nA **request** is allowed\n  if @total_requested is less than **monthlyAllowance**.",
    [
      [{ requestedUnits: 30, reservedUnits: 20, monthlyAllowance: 100 }, true],
      [{ requestedUnits: 30, reservedUnits: 20, monthlyAllowance: 40 }, false],
    ],
  );
  ex("W44", "rounded := round **score** to 1 place.\nA **Applicant** is approved if @rounded is greater than 12.", [
    [{ score: "12.5" }, true],
    [{ score: "abc" }, { error: 'Type error: Arithmetic requires numbers, got "abc"' }],
    [{}, false],
  ]);
  ex(
    "W45",
    "order_total := sum of __prices__ of **Order**.\naverage_price := average of __prices__ of **Order**.\nA **Order** qualifies for review if @order_total is greater than 100 and @average_price is greater than 20.",
    [
      [{ Order: { prices: [60, 70] } }, true],
      [{ Order: { prices: [10, 10, 10] } }, false],
    ],
  );
  ex("W46", 'A **request** is allowed if the __user__ of the **request** looked up in **user_roles** contains "admin".', [
    [{ request: { user: "alice" }, user_roles: { alice: ["admin", "employee"] } }, true],
    [{ request: { user: "mallory" }, user_roles: { alice: ["admin", "employee"] } }, false],
    [{ request: { user: "Alice" }, user_roles: { alice: ["admin", "employee"] } }, false],
  ]);
  it("W47", () => {
    const rule = `A **request** is allowed
  if any __user__ of the **request** looked up in **user_roles** looked up in **role_grants**
  where (its __action__ is equal to the __action__ of the **request**
  and its __type__ is equal to the __type__ of the **request**).`;
    const data = (action: string) => ({
      request: { user: "bob", action, type: "invoice" },
      user_roles: { bob: ["employee", "billing"] },
      role_grants: { employee: [{ action: "read", type: "doc" }], billing: [{ action: "read", type: "invoice" }] },
    });
    const res = runPolicy(rule, data("read"), { now });
    expect(res.result).toBe(true);
    const q = res.trace?.execution[0]?.conditions[0] as { property: { path: string; value: unknown }; elements: unknown[] };
    expect(q.property.path).toBe("$.role_grants[employee,billing]");
    expect(q.property.value).toEqual([
      { action: "read", type: "doc" },
      { action: "read", type: "invoice" },
    ]);
    expect(q.elements).toHaveLength(2);
    check(rule, data("delete"), false);
  });
});

describe("shorthand", () => {
  it("W48", () => {
    const r = "if applicant.risk_score > 72 -> manual_review.";
    const res = runPolicy(r, { applicant: { risk_score: 80 } }, { now });
    expect(res.result).toBe(true);
    expect(res.trace?.execution[0]?.selector).toEqual({ value: "applicant" });
    expect(res.trace?.execution[0]?.outcome).toEqual({ value: "manual_review" });
    check(r, { applicant: { risk_score: 50 } }, false);
  });
  ex("W49", "if user.x > 0 and user.y > 0 or not user.banned -> ok.", [
    [{ user: { x: 0, y: 1, banned: false } }, true],
    [{ user: { x: 0, y: 1, banned: true } }, false],
    [{ user: { x: 1, y: 1, banned: true } }, true],
  ]);
  it("W50", () => {
    const a = 'if user.age between 18 and 65 and user.role in ["admin", "editor"] -> eligible.';
    check(a, { user: { age: 65, role: "Editor" } }, true);
    check(a, { user: { age: 17, role: "admin" } }, false);
    const b = 'if user.tags contains "vip" -> ok.';
    check(b, { user: { tags: ["vip", "beta"] } }, true);
    check(b, { user: { tags: "vip member" } }, false);
    check(b, { user: { tags: "VIP" } }, true);
  });
  ex("W51", "risk_check: if user.x > 0 -> manual_review.\nif $risk_check and user.verified == true -> approved.", [
    [{ user: { x: 1, verified: true } }, { result: true, labels: { risk_check: true } }],
    [{ user: { x: 1, verified: false } }, { result: false, labels: { risk_check: true } }],
  ]);
  it("not negates the trace entry", () => {
    const res = runPolicy("if not user.banned -> ok.", { user: { banned: false } }, { now });
    const c = res.trace?.execution[0]?.conditions[0];
    expect(c?.result).toBe(true);
    expect(c?.negated).toBe(true);
    expect(c?.operator).toBe("EqualTo");
  });
});

describe("combining conditions", () => {
  ex(
    "W52",
    'A **Person** is eligible if __age__ of **Person** is greater than 18 and __status__ of **Person** is equal to "active" or __role__ of **Person** is equal to "admin".',
    [
      [{ Person: { age: 10, status: "x", role: "admin" } }, true],
      [{ Person: { age: 20, status: "active", role: "user" } }, true],
      [{ Person: { age: 20, status: "x", role: "user" } }, false],
    ],
  );
  it("W53", () => {
    const grouped =
      'A **Person** qualifies if __age__ of **Person** is greater than 18 and (__verified__ of **Person** is equal to true or __role__ of **Person** is equal to "admin").';
    const flat =
      'A **Person** qualifies if __age__ of **Person** is greater than 18 and __verified__ of **Person** is equal to true or __role__ of **Person** is equal to "admin".';
    check(grouped, { Person: { age: 10, verified: false, role: "admin" } }, false);
    check(flat, { Person: { age: 10, verified: false, role: "admin" } }, true);
    check(grouped, { Person: { age: 20, verified: false, role: "admin" } }, true);
  });
  it("W54", () => {
    const a = "A **u** is ok if __a__ of **u** is equal to 1 !and __b__ of **u** is equal to 2.";
    check(a, { u: { a: 1, b: 3 } }, true);
    check(a, { u: { a: 0, b: 2 } }, false);
    const res = runPolicy(a, { u: { a: 1, b: 3 } }, { now });
    expect(res.trace?.execution[0]?.conditions[1]?.optional).toBe(true);
    const b = "A **u** is ok if __a__ of **u** is equal to 1 !or __vip__ of **u** is equal to true.";
    check(b, { u: { a: 0, vip: true } }, true);
    check(b, { u: { a: 0, vip: false } }, false);
    check(b.replace("!or", "-or"), { u: { a: 0, vip: true } }, true);
  });
});

describe("several rules, references, labels", () => {
  const W55 = `# Sub-rule 1
A **user** passes the age check
if __age__ of **user** is greater than or equal to 18.
# Sub-rule 2
A **user** passes the status check
if __status__ of **user** is equal to "active".
# Golden rule
A **user** is eligible
if the **user** passes the age check
and the **user** passes the status check.`;
  it("W55", () => {
    check(W55, { user: { age: 25, status: "active" } }, true);
    const res = runPolicy(W55, { user: { age: 25, status: "suspended" } }, { now });
    expect(res.result).toBe(false);
    const exec = res.trace?.execution ?? [];
    expect(exec.map((e) => [e.outcome.value, e.result])).toEqual([
      ["eligible", false],
      ["the age check", true],
      ["the status check", false],
    ]);
    expect(exec[0]?.conditions).toEqual([
      { selector: { value: "user" }, rule_name: "passes the age check", referenced_rule_outcome: "the age check", result: true },
      { selector: { value: "user" }, rule_name: "passes the status check", referenced_rule_outcome: "the status check", result: false },
    ]);
  });
  ex(
    "W56",
    "A **u** passes alpha if __a__ of **u** is equal to 1.\nA **u** passes beta if __b__ of **u** is equal to 1.\nA **u** is ok if the **u** passes alpha and the **u** passes beta.",
    [
      [{ u: { a: 1, b: 1 } }, true],
      [{ u: { a: 1, b: 0 } }, false],
    ],
  );
  it("W57", () => {
    const r = "A **Person** gets a licence if the __age__ of the **Person** is at least 17 and the **Person** passes the eye test.";
    check(r, { Person: { age: 30 } }, true);
    check(r, { Person: { age: 30, eyeTestPassed: false } }, false);
    check(r, { Person: { age: 30, eyeTestStatus: "PASS" } }, true);
    const res = runPolicy(r, { Person: { age: 30, eyeTestPassed: false } }, { now });
    expect(res.trace?.execution[0]?.conditions[1]).toEqual({
      selector: { value: "Person" },
      rule_name: "passes the eye test",
      property_check: { property_name: "eyeTestPassed", property_value: { Boolean: false } },
      result: false,
    });
  });
  ex("W58", 'A **bob** is valid if **bob** passes the test.\nA **bob** passes the test if __name__ of **user** is equal to "bob".', [
    [{ user: { name: "bob" } }, true],
    [{ user: { name: "alice" } }, false],
  ]);
  ex(
    "W59",
    `A **ticket** is created
  if the **ticketing** configuration chose a supported provider
  and the **ticketing** configuration is enabled.
The **ticketing** configuration chose a supported provider
  if the __provider__ of the **ticketing** configuration matches regex "^(alpha|bravo|charlie)$".
The **ticketing** configuration is enabled
  if the __enabled__ of the **ticketing** configuration is equal to true.`,
    [
      [{ ticketing: { provider: "bravo", enabled: true } }, true],
      [{ ticketing: { provider: "delta", enabled: true } }, false],
      [{ ticketing: { provider: "bravo", enabled: false } }, false],
    ],
  );
  it("W60", () => {
    const res = runPolicy(
      "A **p** gets access if the **p** clears step one.\nA **p** clears step one if the **p** clears step two.\nA **p** clears step two if the **p** clears step one.",
      { p: {} },
      { now },
    );
    expect(res.error).toBe(
      "Evaluation error: Infinite loop detected in rule evaluation: access -> clears step one -> clears step two -> clears step one -> access",
    );
    expect(res.result).toBe(false);
    expect(res.trace).toEqual({
      execution: [
        {
          selector: { value: "p" },
          outcome: { value: "access" },
          conditions: [{ selector: { value: "p" }, rule_name: "clears step one", result: false }],
          result: false,
        },
      ],
    });
  });
  it("W61", () => {
    check(
      'A **user** gets access if the __role__ of the **user** is equal to "admin".\nA **user** gets premium_features if the __subscription__ of the **user** is equal to "premium".',
      {},
      {
        error:
          "Parse error: Multiple global rules found: 'access', 'premium_features'. There should be only one golden rule that is not referenced by other rules.",
      },
    );
    check(
      "A **user** is eligible if the **account** active.\nA **account** is active if the **user** eligible.",
      {},
      { error: "Parse error: No global rule found" },
    );
    check(
      "a. A **u** gets x if __v__ of **u** is equal to 1.\nb. A **u** gets y if __v__ of **u** is equal to 2.",
      {},
      {
        error: "Parse error: Multiple global rules found: 'a' (x), 'b' (y). There should be only one golden rule that is not referenced by other rules.",
      },
    );
  });
  ex(
    "W62",
    'ageCheck. A **user** passes the age check if __age__ of **user** is greater than or equal to 18.\nstatusCheck. A **user** passes the status check if __status__ of **user** is equal to "active".\nA **user** is eligible if §ageCheck passes and §statusCheck passes.',
    [
      [{ user: { age: 25, status: "active" } }, { result: true, labels: { ageCheck: true, statusCheck: true } }],
      [{ user: { age: 25, status: "suspended" } }, { result: false, labels: { ageCheck: true, statusCheck: false } }],
    ],
  );
  ex("W63", "A **u** is denied if §eligibilityCheck fails.\neligibilityCheck. A **u** is eligible if __age__ of **u** is at least 18.", [
    [{ u: { age: 20 } }, { result: false, labels: { eligibilityCheck: true } }],
    [{ u: { age: 10 } }, { result: true, labels: { eligibilityCheck: false } }],
  ]);
  it("W64", () => {
    check("A **u** is ok if §missing.label passes.", {}, false);
    check("A **u** is ok if §missing.label fails.", {}, false);
  });
});

describe("parse errors", () => {
  it("W65", () => {
    for (const text of [
      "A passes if __age__ is greater than 18.",
      "A **user** passes if __age__ of **user** is greater than 18.",
      "A **user** is ok if __age__ of **user** is bigger than 18.",
      "A **u** is ok if §a.b.",
      "not valid DSL !!!",
    ]) {
      const res = runPolicy(text, {}, { now });
      expect(res.error, text).toMatch(/^Parse error: --> \d+:\d+ /);
      expect(res.result).toBe(false);
      expect(res.labels).toBeNull();
      expect(res.trace?.execution[0]?.label).toBe("Parse Error");
    }
    const empty = runPolicy("", {}, { now });
    expect(empty.error).toBe("Parse error: No global rule found");
    expect(empty.rule).toEqual([]);
  });
});

describe("benchmark policy", () => {
  const DRIVING = DRIVING_TEST_POLICY;
  const data = (major: boolean) => drivingTestData(now, major);
  it("is true, with a six-entry trace in breadth-first order, and false with a major fault", () => {
    const res = runPolicy(DRIVING, data(false), { now });
    expect(res.error).toBeNull();
    expect(res.result).toBe(true);
    expect(res.trace?.execution.map((e) => e.outcome.value)).toEqual([
      "a driving licence",
      "the age test",
      "the test requirements",
      "taken the test in the time period",
      "the theory test",
      "the practical test",
    ]);
    check(DRIVING, data(true), false);
  });
});
