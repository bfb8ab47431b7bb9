import { Metadata, status as Status, type StatusObject } from "@grpc/grpc-js";
import { classifyError } from "../errors/classify.js";
import { retryAfterOf } from "../errors/domain-error.js";
import { grpcStatusFor } from "../errors/transport-codes.js";

/** A failed call's status: the code of src/grpc/README.md ("Status codes") and the message REST would put in its body. */
export type CallFailure = Pick<StatusObject, "code" | "details" | "metadata"> & { unexpected: boolean };

/**
 * Every failure of a call as its gRPC status. Domain errors (flow failures included: FLOW_NOT_FOUND and
 * POLICY_NOT_FOUND are NOT_FOUND, the other flow codes INVALID_ARGUMENT) keep their message; a rate-limited
 * call (or one of a tenant being moved) also says when to retry, in `retry-after` trailing metadata (whole seconds, as REST's header).
 * Anything else is a bug: INTERNAL, masked.
 */
export function callFailureFor(error: unknown): CallFailure {
  const domain = classifyError(error);
  const metadata = new Metadata();
  if (!domain) return { code: Status.INTERNAL, details: "Internal server error", metadata, unexpected: true };
  const retryAfter = retryAfterOf(domain);
  if (retryAfter !== undefined) metadata.set("retry-after", String(retryAfter));
  return { code: Status[grpcStatusFor(domain.code)], details: domain.message, metadata, unexpected: false };
}
