import fc from "fast-check";
import protobuf from "protobufjs";
import { beforeAll, describe, expect, it } from "vitest";
import { EXECUTION_PROTO } from "../../src/grpc/proto.js";
import { encodeJsonStruct, type JsonObject, jsonToStruct, structToJson } from "../../src/shared/protobuf-struct.js";

let Struct: protobuf.Type;

beforeAll(async () => {
  const root = await protobuf.load(EXECUTION_PROTO);
  Struct = root.lookupType("policy.v1.RunResponse").fields.trace!.resolvedType as protobuf.Type;
});

const reference = (object: JsonObject): Buffer => Buffer.from(Struct.encode(jsonToStruct(object)!).finish());

/** JSON values with what JavaScript objects also hold: -0, non-finite numbers, undefined members and array holes, bigints. */
const value = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.constant(undefined),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.string({ unit: "grapheme" }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie("value"), { maxKeys: 5 }),
  ),
}));

describe("encodeJsonStruct", () => {
  it("writes the bytes protobufjs encodes from jsonToStruct's message, for any object", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value.value, { maxKeys: 6 }), (object) => {
        expect(Buffer.from(encodeJsonStruct(object))).toEqual(reference(object));
      }),
      { numRuns: 2000 },
    );
  });

  it("writes a rule trace and its decoding gives back the same object", () => {
    const trace = { execution: [{ rule: "A **Person** is adult", result: true, conditions: [{ text: "age ≥ 18", value: 30.1, ok: true }] }] };
    const bytes = encodeJsonStruct(trace);
    expect(Buffer.from(bytes)).toEqual(reference(trace));
    expect(Struct.toObject(Struct.decode(bytes), { oneofs: true }).fields.execution.listValue.values).toHaveLength(1);
  });
});

describe("a member named __proto__", () => {
  it("is an own member both ways, as JSON.parse makes it, never the object's prototype", () => {
    const data = JSON.parse('{"__proto__": {"Person": {"age": 30}}, "b": 1}') as JsonObject;
    const message = jsonToStruct(data)!;
    expect(Object.keys(message.fields!)).toEqual(["__proto__", "b"]);
    const back = structToJson(message, "data");
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect((back as { Person?: unknown }).Person).toBeUndefined();
    expect(JSON.stringify(back)).toBe('{"__proto__":{"Person":{"age":30}},"b":1}');
    expect(Buffer.from(encodeJsonStruct(data))).toEqual(reference(data));
  });
});
