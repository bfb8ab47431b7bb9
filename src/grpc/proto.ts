import path from "node:path";
import type * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { DEFAULT_LIMITS } from "../engine/index.js";
import { PROJECT_ROOT } from "../project-root.js";

/** The checked-in contract of the execution service (src/grpc/README.md); clients (tests, the benchmark, SDKs) build from the same file. */
// From the project root, not from this file: in the production build this module sits in a bundled chunk in dist/.
export const EXECUTION_PROTO = path.join(PROJECT_ROOT, "proto/policy/v1/execution.proto");

/**
 * protobufjs refuses messages nested deeper than 100 levels, the C++ default. Each level of JSON costs two in a
 * Struct (Struct → Value → Struct), so that would refuse data the engine accepts (DEFAULT_LIMITS.maxDataDepth
 * levels). Requests may nest as deep as the engine reads, plus a margin; answers a few levels more (a flow
 * answer wraps the echoed data three messages deep). The limit is protobufjs's own, shared by its users in this
 * process — the gateway's only other protobuf user (Apollo's usage reporting) brings its own copy.
 */
export const MAX_REQUEST_NESTING = 2 * (DEFAULT_LIMITS.maxDataDepth + 10);
protobuf.Reader.recursionLimit = MAX_REQUEST_NESTING;
protobuf.util.recursionLimit = MAX_REQUEST_NESTING + 16;

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
 * message shapes are typed by hand in messages.ts and struct.ts).
 *
 * Messages are encoded and decoded by protobufjs directly, as its plain objects and message instances, not
 * through @grpc/proto-loader's object conversion (toObject / fromObject): for a Struct-heavy request that
 * conversion cost ten times the decoding itself. Clients (tests, the benchmark) use proto-loader, as an
 * SDK-like client would.
 *
 * A request protobufjs cannot decode (nested too deeply, malformed) would be INTERNAL from grpc-js, but it is the
 * client's mistake: it is handed to the handler as an UndecodableRequest instead.
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
            try {
              return request.decode(bytes);
            } catch (error) {
              const nested = error instanceof Error && /nesting depth/.test(error.message);
              return new UndecodableRequest(nested ? "'data' is nested too deeply" : `The request is not a valid ${request.name} message`);
            }
          },
          responseSerialize: (message) => asBuffer(response.encode(message as protobuf.Message).finish()),
          responseDeserialize: (bytes) => response.decode(bytes),
        };
        return [method.name, definition];
      }),
    );
  return { PolicyService: definitionOf("PolicyService"), FlowService: definitionOf("FlowService") };
}

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
