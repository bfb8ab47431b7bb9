import protobuf from "protobufjs";

/**
 * Answers that echo a large request's data (src/grpc/README.md, "Large requests"): the echo is the Struct the worker
 * that decoded the request already encoded, so the event loop neither converts the data back into a Struct nor
 * encodes it. The answer is encoded field by field in protobufjs's order (by field number), the encoded Struct
 * written in its place with its tag and length: the bytes are the ones encoding the whole message would give.
 */

/** A Struct already encoded, written into the answer as it is. */
export class EncodedStruct {
  constructor(readonly bytes: Uint8Array) {}
}

/** Marks an answer message, and each message inside it on the way, that holds an EncodedStruct. */
export const HOLDS_ENCODED: unique symbol = Symbol("verdict.holdsEncodedStruct");

export type AnswerMessage = object & { [HOLDS_ENCODED]?: true };

const holds = (value: unknown): boolean => typeof value === "object" && value !== null && (value as AnswerMessage)[HOLDS_ENCODED] === true;

const fieldsById = new WeakMap<protobuf.Type, protobuf.Field[]>();

/** `type.encode(message)`, with the EncodedStructs that a marked message holds written as they are. */
export function encodeAnswer(type: protobuf.Type, message: AnswerMessage): Uint8Array {
  if (!holds(message)) return type.encode(message as protobuf.Message).finish();
  let fields = fieldsById.get(type);
  if (fields === undefined) fieldsById.set(type, (fields = [...type.fieldsArray].sort((a, b) => a.id - b.id)));
  const pieces: Uint8Array[] = [];
  const members = message as Record<string, unknown>;
  for (const field of fields) {
    const value = members[field.name];
    if (value === null || value === undefined) continue;
    if (value instanceof EncodedStruct) {
      pieces.push(delimited(field.id, value.bytes.length), value.bytes);
    } else if (field.resolvedType instanceof protobuf.Type && (field.repeated ? (value as unknown[]).some(holds) : holds(value))) {
      for (const item of field.repeated ? (value as AnswerMessage[]) : [value as AnswerMessage]) {
        const bytes = encodeAnswer(field.resolvedType, item);
        pieces.push(delimited(field.id, bytes.length), bytes);
      }
    } else {
      pieces.push(type.encode({ [field.name]: value } as unknown as protobuf.Message).finish());
    }
  }
  return Buffer.concat(pieces);
}

/** The tag and length of a length-delimited field (wire type 2). */
const delimited = (id: number, length: number): Uint8Array =>
  protobuf.Writer.create()
    .uint32((id << 3) | 2)
    .uint32(length)
    .finish();
