import protobuf from "protobufjs";
import { DomainError, DomainErrorCode } from "../errors/domain-error.js";

/*
 * Used by src/grpc on the event loop and by the evaluation pool's workers, which decode large gRPC requests
 * (src/modules/execution/evaluation-worker.ts): both must map a Struct alike, to the same errors.
 *
 * google.protobuf.Struct / Value / ListValue as protobufjs decodes them (`kind` names the member of a Value
 * that is set) and as it encodes them from plain objects, converted to and from plain JSON values. Numbers are doubles both ways: that is what a Struct carries (an integer above 2^53 has already
 * lost its low digits in the client's encoder), so the echo gives back exactly the numbers that arrived.
 */

export interface StructMessage {
  fields?: Record<string, ValueMessage>;
}

export interface ListValueMessage {
  values?: ValueMessage[];
}

export type ValueMessage =
  | { kind?: undefined }
  | { kind: "nullValue"; nullValue?: 0 | "NULL_VALUE" }
  | { kind: "numberValue"; numberValue: number }
  | { kind: "stringValue"; stringValue: string }
  | { kind: "boolValue"; boolValue: boolean }
  | { kind: "structValue"; structValue: StructMessage }
  | { kind: "listValue"; listValue: ListValueMessage };

export type JsonObject = Record<string, unknown>;

/**
 * A request's Struct as the JSON object the services take. A number that is not finite (NaN, ±Infinity, which
 * a double can hold and JSON cannot) is refused, so that gRPC accepts exactly the data REST and GraphQL can.
 * Recursion is bounded by the decoder's nesting limit (proto.ts).
 */
export function structToJson(struct: StructMessage, field: string): JsonObject {
  const object: JsonObject = {};
  const fields = struct.fields;
  if (fields) for (const key of Object.keys(fields)) object[key] = valueToJson(fields[key]!, field);
  return object;
}

function valueToJson(value: ValueMessage, field: string): unknown {
  switch (value.kind) {
    case undefined: // a Value with no member set: protobuf's JSON mapping has nothing else to make of it
    case "nullValue":
      return null;
    case "numberValue":
      if (!Number.isFinite(value.numberValue)) {
        throw new DomainError(DomainErrorCode.InvalidInput, `'${field}' holds a number that is not finite (${value.numberValue}); JSON has none`, { field });
      }
      return value.numberValue;
    case "stringValue":
      return value.stringValue;
    case "boolValue":
      return value.boolValue;
    case "structValue":
      return structToJson(value.structValue, field);
    case "listValue":
      return (value.listValue.values ?? []).map((item) => valueToJson(item, field));
  }
}

/** A JSON object (trace, labels, echoed data) as a Struct; null stays unset. */
export function jsonToStruct(object: unknown): StructMessage | null {
  if (object === null || object === undefined) return null;
  return structOf(object as JsonObject);
}

function structOf(object: JsonObject): StructMessage {
  const fields: Record<string, ValueMessage> = {};
  for (const key of Object.keys(object)) {
    const item = object[key];
    if (item !== undefined) fields[key] = jsonToValue(item); // as JSON.stringify: undefined members are left out
  }
  return { fields };
}

/** google.protobuf.NullValue.NULL_VALUE: protobufjs encodes enums from their numbers. */
const NULL: ValueMessage = Object.freeze({ kind: "nullValue", nullValue: 0 } as const);

/** Any JSON value as a Value (a flow's result may be a boolean, a string, null or whatever a return node made). */
export function jsonToValue(value: unknown): ValueMessage {
  if (value === null || value === undefined) return NULL;
  switch (typeof value) {
    case "number":
      return { kind: "numberValue", numberValue: value };
    case "string":
      return { kind: "stringValue", stringValue: value };
    case "boolean":
      return { kind: "boolValue", boolValue: value };
    case "bigint":
      return { kind: "numberValue", numberValue: Number(value) };
    case "object":
      if (Array.isArray(value)) return { kind: "listValue", listValue: { values: value.map((item) => jsonToValue(item ?? null)) } };
      return { kind: "structValue", structValue: structOf(value as JsonObject) };
    default:
      return NULL;
  }
}

/**
 * protobufjs refuses messages nested deeper than 100 levels, the C++ default. Each level of JSON costs two in a
 * Struct (Struct → Value → Struct), so that would refuse data the engine accepts (`maxDataDepth` levels). Requests may
 * nest as deep as the engine reads, plus a margin; answers a few levels more (a flow answer wraps the echoed data
 * three messages deep). The limit is protobufjs's own, shared by its users in the thread — the gateway's only other
 * protobuf user (Apollo's usage reporting) brings its own copy — so the gRPC server and each worker that decodes
 * requests set it alike. Returns the request nesting allowed.
 */
export function allowStructNesting(maxDataDepth: number): number {
  const levels = 2 * (maxDataDepth + 10);
  protobuf.Reader.recursionLimit = levels;
  protobuf.util.recursionLimit = levels + 16;
  return levels;
}

/** Why a request message did not decode, as the call's INVALID_ARGUMENT says it. */
export function undecodableReason(error: unknown, messageName: string): string {
  const nested = error instanceof Error && /nesting depth/.test(error.message);
  return nested ? "'data' is nested too deeply" : `The request is not a valid ${messageName} message`;
}
