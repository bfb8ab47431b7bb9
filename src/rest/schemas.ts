import { z } from "zod";

/**
 * The wire contract of the REST execution shim (src/rest/README.md, docs/language.md#the-response and #flows). The same schemas validate
 * requests (routes) and generate the OpenAPI document (openapi.ts), so the two cannot drift apart. Every
 * schema that appears in the document is registered here under its component name.
 */
export const restRegistry = z.registry<{ id: string; description?: string }>();

const component = <T extends z.ZodType>(schema: T, id: string, description?: string): T => {
  restRegistry.add(schema, description ? { id, description } : { id });
  return schema;
};

/*
 * Messages name only the problem; the route says which field (the issue path) in the format of its family
 * (docs/language.md#the-response for policies, #flow-errors for flows).
 */
const jsonObject = () =>
  z.record(z.string(), z.unknown(), {
    error: (issue) => (issue.input === undefined ? "is required" : "must be a JSON object"),
  });

const requiredString = () => z.string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") });

const bodyObject = { error: "must be a JSON object" };

export const RunRuleRequest = component(
  z.looseObject(
    {
      rule: requiredString().describe("The policy text to run (not stored)."),
      data: jsonObject().describe("The input data the policy reads."),
      tests: z.unknown().optional().describe("Accepted and ignored (older clients send their stored tests)."),
      schema: z.unknown().optional().describe("Accepted and ignored (older clients send the input schema)."),
    },
    bodyObject,
  ),
  "RunRuleRequest",
  "An unsaved rule and its input. Other members are ignored.",
);

export const RunDataRequest = component(
  z.looseObject(
    {
      data: jsonObject().describe("The input data the policy or flow reads."),
      tests: z.unknown().optional().describe("Accepted and ignored."),
      schema: z.unknown().optional().describe("Accepted and ignored."),
    },
    bodyObject,
  ),
  "RunDataRequest",
  "The input of a stored policy or flow. Other members are ignored.",
);

export const FlowTestRequest = component(
  z.looseObject(
    {
      data: jsonObject().describe("The input data every policy node receives."),
      flow: requiredString().describe("The flow definition, YAML (or JSON) text (docs/language.md#flow-definition)."),
    },
    bodyObject,
  ),
  "FlowTestRequest",
  "An unsaved flow definition and its input.",
);

const nanoseconds = z.string().regex(/^\d+$/).describe("Whole nanoseconds as a decimal string.");

export const PolicyTrace = component(
  z.looseObject({
    execution: z.array(
      z.looseObject({
        label: z.string().optional(),
        selector: z.looseObject({ value: z.string() }),
        outcome: z.looseObject({ value: z.string() }),
        conditions: z.array(z.looseObject({})),
        result: z.boolean(),
      }),
    ),
  }),
  "PolicyTrace",
  "The evaluation trace (docs/language.md#trace-entries): one entry per evaluated rule, in evaluation order.",
);

const policyResponseFields = {
  result: z.boolean().describe("The golden rule's value; false whenever error is set."),
  trace: PolicyTrace.nullable(),
  rule: z.array(z.string()).describe("The policy text split into lines."),
  data: z.unknown().describe("The request's data, unchanged."),
  error: z.string().nullable().describe("null on success, else 'Parse error: …', 'Evaluation error: …' or 'Type error: …'."),
  labels: z.record(z.string(), z.boolean()).nullable().describe("Label name → result of the labelled rule; null when none ran."),
};

export const PolicyExecution = component(
  z.strictObject({
    orchestrator: z.strictObject({
      go: nanoseconds.describe("The gateway's own handling (the name is kept for client compatibility)."),
      database: nanoseconds.describe('Reading stored records; "0" for POST /run.'),
      total: nanoseconds.describe("go + database."),
    }),
    engine: nanoseconds.describe("Parse + evaluate."),
    total: nanoseconds.describe("orchestrator.total + engine."),
  }),
  "PolicyExecution",
  "Timings of one policy run.",
);

export const PolicyResponse = component(
  z.strictObject({ ...policyResponseFields, execution: PolicyExecution }),
  "PolicyResponse",
  "One policy evaluation (docs/language.md#the-response). Also the body of a 400 for a rule that does not parse or evaluate.",
);

export const NodePolicyResponse = component(
  z.strictObject(policyResponseFields),
  "NodePolicyResponse",
  "A flow node's policy response: the policy response without its own execution timings.",
);

export const NodeExecution = component(
  z.strictObject({ database: nanoseconds, engine: nanoseconds, total: nanoseconds }),
  "NodeExecution",
  'Timings of one flow node (all "0" for a custom node, which runs nothing).',
);

export const FlowResponse = component(
  z.strictObject({
    result: z.unknown().describe("A boolean, a custom node's outcome string, null, or whatever a return node produced."),
    nodeResponse: z.array(
      z.strictObject({
        nodeId: z.string(),
        nodeType: z.enum(["start", "policy", "custom"]),
        response: NodePolicyResponse,
        execution: NodeExecution,
      }),
    ),
    execution: z.strictObject({ orchestrator: nanoseconds, database: nanoseconds, engine: nanoseconds, total: nanoseconds }),
  }),
  "FlowResponse",
  "One flow run (docs/language.md#flow-response): node responses in pre-order.",
);

export const ErrorBody = component(
  z.strictObject({ code: z.string(), message: z.string() }),
  "Error",
  "Every failure other than an evaluation error and the flow failures of docs/language.md#flow-errors.",
);

export const FlowErrorBody = component(
  z.strictObject({
    code: z.enum([
      "VALIDATION_ERROR",
      "MISSING_POLICY_ID",
      "INVALID_FLOW",
      "POLICY_NOT_FOUND",
      "FLOW_NOT_FOUND",
      "FLOW_STEPS_EXCEEDED",
      "FLOW_NODE_RUNS_EXCEEDED",
      "FLOW_RESPONSE_TOO_LARGE",
    ]),
    message: z.string(),
    details: z.record(z.string(), z.string()),
  }),
  "FlowError",
  "A flow failure (docs/language.md#flow-errors).",
);

export type ErrorBodyShape = z.output<typeof ErrorBody>;
export type FlowErrorBodyShape = z.output<typeof FlowErrorBody>;
