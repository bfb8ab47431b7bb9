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
  if (fields) for (const key of Object.keys(fields)) setOwn(object, key, valueToJson(fields[key]!, field));
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

/**
 * `object[key] = value` as JSON.parse does it: a member named `__proto__` becomes an own member instead of the
 * object's prototype (which would drop it, and let a request's data inherit members it does not have).
 */
function setOwn<T>(object: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

/** A JSON object as a Struct message; null stays unset. The reference that encodeJsonStruct's bytes are tested against. */
export function jsonToStruct(object: unknown): StructMessage | null {
  if (object === null || object === undefined) return null;
  return structOf(object as JsonObject);
}

function structOf(object: JsonObject): StructMessage {
  const fields: Record<string, ValueMessage> = {};
  for (const key of Object.keys(object)) {
    const item = object[key];
    if (item !== undefined) setOwn(fields, key, jsonToValue(item)); // as JSON.stringify: undefined members are left out
  }
  return { fields };
}

/**
 * A JSON object written straight into an encoded google.protobuf.Struct: the bytes `Struct.encode(jsonToStruct(object))`
 * gives (a property test compares them), without a message object per value. Answers carry their trace this way: built
 * as objects and encoded by protobufjs, a trace cost a gRPC call about 100 µs and most of its garbage.
 */
export function encodeJsonStruct(object: JsonObject): Uint8Array {
  const writer = protobuf.Writer.create();
  writeStruct(writer, object);
  return writer.finish();
}

// Tags (field number << 3 | wire type) of Struct.fields (a map: entries of key = 1, value = 2), Value's members
// (null_value = 1, number_value = 2, string_value = 3, bool_value = 4, struct_value = 5, list_value = 6) and
// ListValue.values (= 1), written in the order protobufjs writes them.
const STRUCT_ENTRY = (1 << 3) | 2;
const ENTRY_KEY = (1 << 3) | 2;
const ENTRY_VALUE = (2 << 3) | 2;
const NULL_VALUE = (1 << 3) | 0;
const NUMBER_VALUE = (2 << 3) | 1;
const STRING_VALUE = (3 << 3) | 2;
const BOOL_VALUE = (4 << 3) | 0;
const STRUCT_VALUE = (5 << 3) | 2;
const LIST_VALUE = (6 << 3) | 2;
const LIST_ITEM = (1 << 3) | 2;

function writeStruct(writer: protobuf.Writer, object: JsonObject): void {
  for (const key of Object.keys(object)) {
    const item = object[key];
    if (item === undefined) continue; // as structOf
    writer.uint32(STRUCT_ENTRY).fork().uint32(ENTRY_KEY).string(key).uint32(ENTRY_VALUE).fork();
    writeValue(writer, item);
    writer.ldelim().ldelim();
  }
}

/** The members jsonToValue would set, written in its place. */
function writeValue(writer: protobuf.Writer, value: unknown): void {
  switch (typeof value) {
    case "number":
      writer.uint32(NUMBER_VALUE).double(value);
      return;
    case "string":
      writer.uint32(STRING_VALUE).string(value);
      return;
    case "boolean":
      writer.uint32(BOOL_VALUE).bool(value);
      return;
    case "bigint":
      writer.uint32(NUMBER_VALUE).double(Number(value));
      return;
    case "object":
      if (value === null) break;
      writer.uint32(Array.isArray(value) ? LIST_VALUE : STRUCT_VALUE).fork();
      if (Array.isArray(value)) {
        for (const item of value) {
          writer.uint32(LIST_ITEM).fork();
          writeValue(writer, item ?? null);
          writer.ldelim();
        }
      } else writeStruct(writer, value as JsonObject);
      writer.ldelim();
      return;
  }
  writer.uint32(NULL_VALUE).int32(0);
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
