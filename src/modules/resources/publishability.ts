import { compilePolicy } from "../../engine/index.js";
import { FlowError, flowPolicyIds, parseFlow } from "../../engine/flow/index.js";
import { DomainError, DomainErrorCode } from "../../errors/domain-error.js";
import type { BaseKind } from "../../generated/prisma/enums.js";

const notPublishable = (message: string, details: Record<string, unknown> = {}): DomainError =>
  new DomainError(DomainErrorCode.NotPublishable, message, details);

/**
 * Drafts may hold anything; a version must run. A policy must parse; a flow must load and every node must
 * name a policy that exists, is not deleted and is listed for the publisher (`isListedPolicy`, by base or
 * record ID).
 */
export async function assertPublishable(isListedPolicy: (id: string) => Promise<boolean>, kind: BaseKind, content: string): Promise<void> {
  if (kind === "POLICY") {
    const compiled = compilePolicy(content);
    if (compiled.error) throw notPublishable(`The policy cannot be published: ${compiled.error}`);
    return;
  }
  let nodes: { nodeId: string; policyId: string }[];
  try {
    nodes = flowPolicyIds(parseFlow(content));
  } catch (error) {
    if (error instanceof FlowError) throw notPublishable(`The flow cannot be published: ${error.message}`, error.details);
    throw error;
  }
  for (const node of nodes) {
    if (!(await isListedPolicy(node.policyId))) {
      throw notPublishable(
        `The flow cannot be published: node '${node.nodeId}' references policy '${node.policyId}', which does not exist, is deleted or is not visible to you`,
        { nodeId: node.nodeId, policyId: node.policyId },
      );
    }
  }
}
