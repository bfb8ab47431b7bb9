import { z } from "zod";
import { restRegistry } from "./schemas.js";

/**
 * The OpenAPI 3.1 document of the REST execution shim, generated from the zod schemas that validate the
 * requests (schemas.ts). OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what `z.toJSONSchema` emits.
 */
const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: object, description: string) => ({ description, content: { "application/json": { schema } } });

const commonErrors = {
  "401": json(ref("Error"), "The x-api-key header is missing, or the key is unknown, expired or revoked."),
  "403": json(ref("Error"), "The key lacks the view scope."),
  "413": json(ref("Error"), "The request body is larger than the gateway accepts."),
  "415": json(ref("Error"), "The request body is compressed (Content-Encoding); send it uncompressed."),
  "429": {
    ...json(ref("Error"), "Too many requests for this key (or, without a valid key, from this address)."),
    headers: { "Retry-After": { description: "Seconds until the limit resets.", schema: { type: "integer", minimum: 1 } } },
  },
  "503": json(ref("Error"), "The database is unavailable; retry shortly."),
};

/** Stored-resource answers name the record that ran (src/rest/README.md). */
const ranRecordHeaders = {
  "x-verdict-record-id": { description: "The record (draft or version) that ran.", required: true, schema: { type: "string", format: "uuid" } },
  "x-verdict-version": {
    description: "The version number that ran; absent when a draft ran.",
    required: false,
    schema: { type: "string", pattern: "^[1-9][0-9]*$" },
  },
};
const withRanRecord = (response: object, stored: boolean) => (stored ? { ...response, headers: ranRecordHeaders } : response);

const idParameter = (name: string, description: string) => ({ name, in: "path", required: true, description, schema: { type: "string" } });

function policyOperation(summary: string, request: string, parameters: object[], notFound: boolean) {
  return {
    post: {
      summary,
      tags: ["policies"],
      parameters,
      requestBody: { required: true, content: { "application/json": { schema: ref(request) } } },
      responses: {
        "200": withRanRecord(json(ref("PolicyResponse"), "Evaluated (the result may be true or false)."), notFound),
        "400": json(
          { oneOf: [ref("PolicyResponse"), ref("Error")] },
          "The rule does not parse or fails to evaluate (a PolicyResponse with error set; for a stored policy the x-verdict-… headers name the record that ran), or the body is malformed (VALIDATION_ERROR).",
        ),
        ...commonErrors,
        ...(notFound ? { "404": json(ref("Error"), "No such policy for this tenant (unknown, foreign or deleted).") } : {}),
      },
    },
  };
}

function flowOperation(summary: string, request: string, parameters: object[], flowNotFound: boolean) {
  return {
    post: {
      summary,
      tags: ["flows"],
      parameters,
      requestBody: { required: true, content: { "application/json": { schema: ref(request) } } },
      responses: {
        "200": withRanRecord(json(ref("FlowResponse"), "The flow ran to its end."), flowNotFound),
        "400": json(
          ref("FlowError"),
          "VALIDATION_ERROR, MISSING_POLICY_ID or INVALID_FLOW (docs/language.md#flow-errors); FLOW_STEPS_EXCEEDED, FLOW_NODE_RUNS_EXCEEDED or FLOW_RESPONSE_TOO_LARGE when a run exceeds a bound.",
        ),
        "404": json(ref("FlowError"), flowNotFound ? "FLOW_NOT_FOUND, or POLICY_NOT_FOUND for a node's policy." : "POLICY_NOT_FOUND for a node's policy."),
        ...commonErrors,
      },
    },
  };
}

let cached: object | null = null;

export function openApiDocument(): object {
  if (cached) return cached;
  const generated = z.toJSONSchema(restRegistry, {
    target: "draft-2020-12",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  const schemas: Record<string, Record<string, unknown>> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema;
    schemas[id] = rest;
  }
  cached = {
    openapi: "3.1.0",
    info: {
      title: "Verdict execution API (REST compatibility shim)",
      version: "1.0.0",
      description:
        "Runs policies and flows for existing execution clients. Every route needs an API key with at least the view scope in the x-api-key header. Timings are decimal strings of whole nanoseconds.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    security: [{ apiKey: [] }],
    paths: {
      "/run": policyOperation("Run an unsaved rule", "RunRuleRequest", [], false),
      "/run/policy/{baseId}": policyOperation(
        "Run a policy base: its latest version, else its draft",
        "RunDataRequest",
        [idParameter("baseId", "The policy's base ID.")],
        true,
      ),
      "/run/policy_version/{policyId}": policyOperation(
        "Run that exact policy record (draft or version)",
        "RunDataRequest",
        [idParameter("policyId", "A policy record ID (draft or version).")],
        true,
      ),
      "/run/flow/{baseId}": flowOperation(
        "Run a flow base: its latest version, else its draft",
        "RunDataRequest",
        [idParameter("baseId", "The flow's base ID.")],
        true,
      ),
      "/run/flow_version/{flowId}": flowOperation(
        "Run that exact flow record (draft or version)",
        "RunDataRequest",
        [idParameter("flowId", "A flow record ID (draft or version).")],
        true,
      ),
      "/flow/test": flowOperation("Run an unsaved flow definition", "FlowTestRequest", [], false),
    },
    components: {
      schemas,
      securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "x-api-key" } },
    },
  };
  return cached;
}
