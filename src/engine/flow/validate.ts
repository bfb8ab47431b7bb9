/**
 * Turns an untrusted, already-loaded value (from YAML, or JSON sent over GraphQL) into a FlowDefinition.
 *
 * The whole tree is checked before anything runs, so a broken node fails the flow even on a branch the data
 * would not take: a flow is either valid or not, independent of its input, and can be checked at publish time.
 * Only own properties of plain objects are read, so inherited or `__proto__` keys cannot inject fields.
 */
import { FlowError } from "./errors.js";
import type { FlowDefinition, FlowMetadata, FlowNode, JsonValue } from "./types.js";

export const FLOW_LIMITS = Object.freeze({
  /** Nodes in the whole tree (every start, policy, return and custom node). */
  maxNodes: 1000,
  /** Nodes on one root-to-leaf path; start nodes are at depth 1. */
  maxDepth: 64,
  /** Nesting of a `return` node's value (lists and maps). */
  maxValueDepth: 64,
  /** Scalars, lists and maps across all `return` values of a flow. */
  maxValueItems: 10_000,
});

type RawObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is RawObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function own(obj: RawObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function structureError(message: string): FlowError {
  return new FlowError("VALIDATION_ERROR", `validation error on field 'flow': ${message}`, { field: "flow" });
}

function invalidNode(nodeId: string, message: string): FlowError {
  return new FlowError("INVALID_FLOW", message, { nodeId });
}

/** YAML turns `id: 42` into a number; ids and outcomes are text, so scalars are read back as text. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return undefined;
}

class Validator {
  private nodes = 0;
  private valueItems = 0;

  definition(value: unknown): FlowDefinition {
    if (!isPlainObject(value)) throw structureError("the definition must be a mapping with a 'flow' key");
    const flow = own(value, "flow");
    if (!isPlainObject(flow)) throw structureError("'flow' must be a mapping with a 'start' list");
    const start = own(flow, "start");
    if (!Array.isArray(start)) throw structureError("'flow.start' must be a list of nodes");
    const def: FlowDefinition = { flow: { start: this.children(start, "flow.start", 1) } };
    const metadata = this.metadata(own(value, "metadata"));
    if (metadata !== undefined) def.metadata = metadata;
    return def;
  }

  private metadata(value: unknown): FlowMetadata | undefined {
    if (!isPlainObject(value)) return undefined;
    const out: FlowMetadata = {};
    const totalNodes = own(value, "totalNodes");
    const totalEdges = own(value, "totalEdges");
    const timestamp = own(value, "timestamp");
    if (Number.isSafeInteger(totalNodes)) out.totalNodes = totalNodes as number;
    if (Number.isSafeInteger(totalEdges)) out.totalEdges = totalEdges as number;
    if (typeof timestamp === "string") out.timestamp = timestamp;
    return out;
  }

  private children(list: unknown[], path: string, depth: number): FlowNode[] {
    // Array.from reads holes of a sparse array as undefined, which then fails as "not a mapping".
    return Array.from(list, (raw: unknown, i) => this.node(raw, `${path}[${i}]`, depth));
  }

  /** An absent or null child list is empty (a bare `onTrue:` in YAML loads as null). */
  private childList(obj: RawObject, key: "onTrue" | "onFalse", nodeId: string, path: string, depth: number): FlowNode[] {
    const list = own(obj, key);
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) throw invalidNode(nodeId, `node '${nodeId}' (${path}): '${key}' must be a list of nodes`);
    return this.children(list, `${path}.${key}`, depth + 1);
  }

  private node(raw: unknown, path: string, depth: number): FlowNode {
    if (!isPlainObject(raw)) throw invalidNode("", `${path}: a node must be a mapping`);
    const rawId = own(raw, "id");
    const id = rawId === undefined || rawId === null ? "" : scalarText(rawId);
    if (id === undefined) throw invalidNode("", `${path}: 'id' must be a string`);
    this.nodes++;
    if (this.nodes > FLOW_LIMITS.maxNodes) {
      throw invalidNode(id, `flow has more than ${FLOW_LIMITS.maxNodes} nodes (limit reached at node '${id}', ${path})`);
    }
    if (depth > FLOW_LIMITS.maxDepth) {
      throw invalidNode(id, `flow is nested deeper than ${FLOW_LIMITS.maxDepth} levels (at node '${id}', ${path})`);
    }

    const type = own(raw, "type");
    switch (type) {
      case "start":
      case "policy": {
        const policyId = own(raw, "policyId");
        if (policyId === undefined || policyId === null || policyId === "") {
          throw new FlowError("MISSING_POLICY_ID", `node '${id}' (${type}) has no policyId`, { nodeId: id });
        }
        const policyIdText = scalarText(policyId);
        if (policyIdText === undefined) throw invalidNode(id, `node '${id}': 'policyId' must be a string`);
        const returnValue = own(raw, "returnValue");
        if (returnValue !== undefined && returnValue !== null && typeof returnValue !== "boolean") {
          throw invalidNode(id, `node '${id}' (${type}): returnValue must be true, false or absent`);
        }
        const node: FlowNode = {
          id,
          type,
          policyId: policyIdText,
          returnValue: returnValue ?? null,
          onTrue: this.childList(raw, "onTrue", id, path, depth),
          onFalse: this.childList(raw, "onFalse", id, path, depth),
        };
        const policyName = own(raw, "policyName");
        if (typeof policyName === "string") node.policyName = policyName;
        return node;
      }
      case "return":
        return { id, type, returnValue: this.jsonValue(own(raw, "returnValue") ?? null, id) };
      case "custom": {
        const outcome = own(raw, "outcome");
        if (outcome === undefined || outcome === null) throw invalidNode(id, `custom node '${id}' has no outcome`);
        const outcomeText = scalarText(outcome);
        if (outcomeText === undefined) throw invalidNode(id, `custom node '${id}': outcome must be a string`);
        return {
          id,
          type,
          outcome: outcomeText,
          onTrue: this.childList(raw, "onTrue", id, path, depth),
          onFalse: this.childList(raw, "onFalse", id, path, depth),
        };
      }
      default:
        throw invalidNode(id, `unknown node type: ${typeof type === "string" ? type : JSON.stringify(type ?? null)}`);
    }
  }

  /**
   * Copies a `return` value as plain JSON. The result goes back to clients as JSON, so non-finite numbers and
   * non-JSON objects are refused here rather than silently turned into `null` by a serializer later.
   */
  private jsonValue(value: unknown, nodeId: string, depth = 0): JsonValue {
    this.valueItems++;
    if (this.valueItems > FLOW_LIMITS.maxValueItems) {
      throw invalidNode(nodeId, `return values of the flow hold more than ${FLOW_LIMITS.maxValueItems} items`);
    }
    if (depth > FLOW_LIMITS.maxValueDepth) {
      throw invalidNode(nodeId, `node '${nodeId}': returnValue is nested deeper than ${FLOW_LIMITS.maxValueDepth} levels`);
    }
    if (value === null || typeof value === "string" || typeof value === "boolean") return value;
    if (typeof value === "number") {
      if (Number.isFinite(value)) return value;
      throw invalidNode(nodeId, `node '${nodeId}': returnValue must be JSON (no infinite or NaN numbers)`);
    }
    if (Array.isArray(value)) return Array.from(value, (item: unknown) => this.jsonValue(item, nodeId, depth + 1));
    if (isPlainObject(value)) {
      const out: { [key: string]: JsonValue } = {};
      for (const key of Object.keys(value)) {
        // defineProperty: a "__proto__" key stays an ordinary key instead of replacing the prototype.
        Object.defineProperty(out, key, {
          value: this.jsonValue(value[key], nodeId, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    throw invalidNode(nodeId, `node '${nodeId}': returnValue must be JSON (a scalar, list or map)`);
  }
}

export function validateFlowDefinition(value: unknown): FlowDefinition {
  return new Validator().definition(value);
}
