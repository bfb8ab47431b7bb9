import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalAroundSequence, chainHash, GENESIS_HASH, referenceCanonicalForm } from "../../src/modules/audit/audit-chain.js";
import { auditEventProblem } from "../../src/modules/audit/audit-recorder.js";

const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string(),
    fc.constantFrom("__sequence__", '"sequence":"__sequence__"', "é😀\u2028"),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constant("sequence")), tie("value"), { maxKeys: 3 }),
  ),
})).value;

describe("canonicalAroundSequence", () => {
  it("splits the canonical JSON so that prefix ‖ sequence ‖ suffix hashes like chainHash", () => {
    fc.assert(
      fc.property(
        fc.record({
          detail: fc.dictionary(fc.oneof(fc.string(), fc.constant("sequence")), json, { maxKeys: 4 }),
          sequence: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
          version: fc.option(fc.integer({ min: 1, max: 1_000_000 })),
          actorId: fc.option(fc.uuid()),
          baseId: fc.option(fc.uuid()),
          ms: fc.integer({ min: 0, max: 4_102_444_800_000 }),
        }),
        ({ detail, sequence, version, actorId, baseId, ms }) => {
          const event = {
            tenantId: "6a0c5d9e-1f1e-4a4b-9d84-3f0f5a2b7c11",
            occurredAt: new Date(ms),
            actorType: "USER",
            actorId,
            action: "EXECUTED",
            resourceKind: "POLICY",
            baseId,
            recordId: null,
            version,
            groupId: null,
            detail: JSON.parse(JSON.stringify(detail)),
          };
          const { prefix, suffix } = canonicalAroundSequence(event);
          const split = createHash("sha256")
            .update(GENESIS_HASH + prefix + sequence.toString() + suffix)
            .digest("hex");
          expect(split).toBe(chainHash(GENESIS_HASH, { ...event, sequence }));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("chainHash", () => {
  it("hashes exactly what the general RFC 8785 canonicaliser makes of the event", () => {
    fc.assert(
      fc.property(
        fc.record({
          detail: fc.dictionary(fc.string(), json, { maxKeys: 5 }),
          sequence: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
          version: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
          actorType: fc.constantFrom("USER", "API_KEY", "SYSTEM"),
          actorId: fc.option(fc.uuid()),
          action: fc.constantFrom("CREATED", "EXECUTED", "KEY_REVOKED"),
          baseId: fc.option(fc.uuid()),
          recordId: fc.option(fc.uuid()),
          groupId: fc.option(fc.uuid()),
          ms: fc.integer({ min: 0, max: 4_102_444_800_000 }),
        }),
        ({ ms, detail, ...fields }) => {
          const event = {
            ...fields,
            tenantId: "6a0c5d9e-1f1e-4a4b-9d84-3f0f5a2b7c11",
            resourceKind: "POLICY",
            occurredAt: new Date(ms),
            detail: JSON.parse(JSON.stringify(detail)),
          };
          expect(chainHash(GENESIS_HASH, event)).toBe(
            createHash("sha256")
              .update(GENESIS_HASH + referenceCanonicalForm(event))
              .digest("hex"),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("execution events' flat details", () => {
  // Every audited run carries a detail of strings, booleans, null and numbers, canonicalised and checked
  // without the general canonicaliser and without a JSON round trip (isFlatDetail).
  const flatValue = fc.oneof(
    fc.string({ unit: "binary" }),
    fc.constantFrom("\u0000", "\ud800", "a\udc00", "😀", "é\u2028"),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
  );
  const flatDetail = fc.dictionary(fc.oneof(fc.string({ unit: "binary" }), fc.constantFrom("by", "result", "error", "\ud800")), flatValue, { maxKeys: 5 });
  const escaped = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/;

  it("hash exactly what the general RFC 8785 canonicaliser makes of them", () => {
    fc.assert(
      fc.property(flatDetail, fc.integer({ min: 0, max: 4_102_444_800_000 }), (detail, ms) => {
        const event = {
          tenantId: "6a0c5d9e-1f1e-4a4b-9d84-3f0f5a2b7c11",
          sequence: 7n,
          occurredAt: new Date(ms),
          actorType: "API_KEY",
          actorId: null,
          action: "EXECUTED",
          resourceKind: "POLICY",
          baseId: null,
          recordId: null,
          version: 3,
          groupId: null,
          detail: JSON.parse(JSON.stringify(detail)),
        };
        const reference = createHash("sha256")
          .update(GENESIS_HASH + referenceCanonicalForm(event))
          .digest("hex");
        expect(chainHash(GENESIS_HASH, event)).toBe(reference);
        expect(chainHash(GENESIS_HASH, event, new Date(ms).toISOString())).toBe(reference);
      }),
      { numRuns: 500 },
    );
  });

  it("are refused for a NUL or an unpaired surrogate exactly when their JSON text shows one", () => {
    fc.assert(
      fc.property(flatDetail, (detail) => {
        const problem = auditEventProblem({ action: "EXECUTED", resourceKind: "POLICY", detail });
        expect(problem !== null).toBe(escaped.test(JSON.stringify(detail)));
      }),
      { numRuns: 1000 },
    );
  });
});
