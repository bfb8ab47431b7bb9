import { flowNotFoundError } from "../../engine/flow/index.js";
import { DomainError, DomainErrorCode } from "../../errors/domain-error.js";
import { FlowRunError } from "./execution.service.js";
import type { FlowRun } from "./run-result.js";

/**
 * Runs a stored flow for an execution client (the REST shim, gRPC): one that does not exist for the caller is
 * FLOW_NOT_FOUND with its ID, the execution wire's own failure (docs/language.md#flow-errors), rather than GraphQL's NOT_FOUND.
 */
export async function storedFlow(id: string, run: (id: string) => Promise<FlowRun>): Promise<FlowRun> {
  try {
    return await run(id);
  } catch (error) {
    if (error instanceof DomainError && !(error instanceof FlowRunError) && error.code === DomainErrorCode.NotFound) {
      throw new FlowRunError(flowNotFoundError(id));
    }
    throw error;
  }
}
