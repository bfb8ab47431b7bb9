import { compilePolicy } from "../../engine/index.js";
import { FlowError, flowPolicyIds, parseFlow } from "../../engine/flow/index.js";
import { DomainError, DomainErrorCode } from "../../errors/domain-error.js";
import { isUuid } from "../../graphql/ids.js";
import type { Principal } from "../../identity/principal.js";
import { isListedFor } from "../../authorization/resource-access.js";
import type { Transaction } from "../audit/audit-recorder.js";
import type { BaseKind } from "../../generated/prisma/enums.js";

const notPublishable = (message: string, details: Record<string, unknown> = {}): DomainError =>
  new DomainError(DomainErrorCode.NotPublishable, message, details);

/**
 * Drafts may hold anything; a version must run. A policy must parse; a flow must load and every node must
 * name a policy that exists, is not deleted and is visible to the publisher.
 */
export async function assertPublishable(tx: Transaction, principal: Principal, kind: BaseKind, content: string): Promise<void> {
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
    if (!(await policyIsReachable(tx, principal, node.policyId))) {
      throw notPublishable(
        `The flow cannot be published: node '${node.nodeId}' references policy '${node.policyId}', which does not exist, is deleted or is not visible to you`,
        { nodeId: node.nodeId, policyId: node.policyId },
      );
    }
  }
}

async function policyIsReachable(tx: Transaction, principal: Principal, policyId: string): Promise<boolean> {
  if (!isUuid(policyId)) return false;
  const id = policyId.toLowerCase();
  const baseId =
    (await tx.base.findUnique({ where: { id }, select: { id: true } }))?.id ??
    (await tx.version.findUnique({ where: { id }, select: { baseId: true } }))?.baseId ??
    (await tx.draft.findUnique({ where: { id }, select: { baseId: true } }))?.baseId;
  if (!baseId) return false;
  const base = await tx.base.findUnique({ where: { id: baseId } });
  return !!base && base.kind === "POLICY" && isListedFor(principal, base);
}
