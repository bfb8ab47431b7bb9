import path from "node:path";
import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { DEFAULT_LIMITS } from "../engine/index.js";
import { PROJECT_ROOT } from "../project-root.js";
import { allowStructNesting, undecodableReason } from "../shared/protobuf-struct.js";
import { type AnswerMessage, encodeAnswer } from "./encoded-answer.js";

/** The checked-in contract of the execution service (src/grpc/README.md); clients (tests, the benchmark, SDKs) build from the same file. */
// From the project root, not from this file: in the production build this module sits in a bundled chunk in dist/.
export const EXECUTION_PROTO = path.join(PROJECT_ROOT, "proto/policy/v1/execution.proto");

/** How deep a request may nest (protobufjs's limit, raised: src/shared/protobuf-struct.ts). */
export const MAX_REQUEST_NESTING = allowStructNesting(DEFAULT_LIMITS.maxDataDepth);

/**
 * Requests longer than this (bytes on the wire) are not decoded on the event loop: the handler authenticates the call
 * and has the message decoded in the evaluation pool, in its tenant's turn (LargeRequest). As REST's LARGE_BODY_BYTES:
 * below it, decoding costs less than a round trip to the pool.
 */
export const LARGE_MESSAGE_BYTES = 64 * 1024;

/** A request message too large to decode here: its bytes, its type's full name and the .proto to find it in. */
export class LargeRequest {
  constructor(
    readonly bytes: Uint8Array,
    readonly proto: string,
    readonly type: string,
  ) {}
}

/** A request message that could not be decoded; the handler answers it INVALID_ARGUMENT after authentication. */
export class UndecodableRequest {
  constructor(readonly reason: string) {}
}

export interface ExecutionServiceDefinitions {
  PolicyService: grpc.ServiceDefinition;
  FlowService: grpc.ServiceDefinition;
}

/**
 * The two services as grpc-js definitions, read from the .proto at start-up with protobufjs's reflection: the
 * .proto stays the only source, with no protoc step and no generated files to keep in step (the handlers' few
 * message shapes are typed by hand in messages.ts and src/shared/protobuf-struct.ts).
 *
 * Messages are encoded and decoded by protobufjs directly, as its plain objects and message instances, not
 * through @grpc/proto-loader's object conversion (toObject / fromObject): for a Struct-heavy request that
 * conversion cost ten times the decoding itself. Clients (tests, the benchmark) use proto-loader, as an
 * SDK-like client would.
 *
 * A request protobufjs cannot decode (nested too deeply, malformed) would be INTERNAL from grpc-js, but it is the
 * client's mistake: it is handed to the handler as an UndecodableRequest instead. A request over LARGE_MESSAGE_BYTES
 * is handed over undecoded (LargeRequest), and an answer echoing its data splices in the echo the pool encoded
 * (encoded-answer.ts).
 */
export function executionServiceDefinitions(): ExecutionServiceDefinitions {
  const root = protobuf.loadSync(EXECUTION_PROTO);
  const definitionOf = (service: string): grpc.ServiceDefinition =>
    Object.fromEntries(
      root.lookupService(`policy.v1.${service}`).methodsArray.map((method) => {
        method.resolve();
        const request = method.resolvedRequestType!;
        const response = method.resolvedResponseType!;
        const definition: grpc.MethodDefinition<unknown, unknown> = {
          path: `/policy.v1.${service}/${method.name}`,
          requestStream: false,
          responseStream: false,
          requestSerialize: (message) => asBuffer(request.encode(message as protobuf.Message).finish()),
          requestDeserialize: (bytes) => {
            if (bytes.length > LARGE_MESSAGE_BYTES) return new LargeRequest(bytes, EXECUTION_PROTO, request.fullName.slice(1));
            try {
              return request.decode(bytes);
            } catch (error) {
              return new UndecodableRequest(undecodableReason(error, request.name));
            }
          },
          responseSerialize: (message) => asBuffer(encodeAnswer(response, message as AnswerMessage)),
          responseDeserialize: (bytes) => response.decode(bytes),
        };
        return [method.name, definition];
      }),
    );
  return { PolicyService: definitionOf("PolicyService"), FlowService: definitionOf("FlowService") };
}

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
