import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalAroundSequence, chainHash, GENESIS_HASH, referenceCanonicalForm } from "../../src/modules/audit/audit-chain.js";

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
