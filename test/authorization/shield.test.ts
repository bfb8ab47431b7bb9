import "reflect-metadata";
import { execute, parse, type GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { Mutation, Query, Resolver, buildSchemaSync } from "type-graphql";
import { describe, expect, it } from "vitest";
import { Action } from "../../src/authorization/actions.js";
import { mayPerform } from "../../src/authorization/authorize.js";
import { conflict, notFound } from "../../src/errors/domain-error.js";
import { createErrorFormatter } from "../../src/graphql/format-error.js";
import { permissionsFor } from "../../src/server/permissions.js";
import { resolvers } from "../../src/server/resolvers.js";
import { NO_PUBSUB } from "../../src/server/schema.js";
import type { TenantActor } from "../../src/identity/actor.js";

/** Root fields no module lists: the shield must deny them (fallbackRule deny), whoever asks. */
@Resolver()
class UnlistedResolver {
  @Query(() => String)
  unlistedQuery(): string {
    return "leaked";
  }

  @Mutation(() => String)
  unlistedMutation(): string {
    return "changed";
  }
}

const schema: GraphQLSchema = buildSchemaSync({ resolvers: [...resolvers, UnlistedResolver], validate: { forbidUnknownValues: false }, pubSub: NO_PUBSUB });

const admin: TenantActor = { kind: "user", tenantId: "t", userId: "u", roles: ["ADMIN", "AUDITOR"] };
const format = createErrorFormatter(() => {}, { hideSuggestions: false });

const shielded = applyMiddleware(schema, permissionsFor(schema));

async function run(query: string, principal: TenantActor | null, services: Record<string, unknown> = {}) {
  const result = await execute({ schema: shielded, document: parse(query), contextValue: { actor: principal, requestId: "r", services, loaders: {} } });
  return { data: result.data, errors: (result.errors ?? []).map((e) => format(e.toJSON(), e)) };
}

describe("the shield", () => {
  it("denies root fields that no module lists, for every caller, with FORBIDDEN", async () => {
    for (const principal of [null, admin]) {
      const q = await run(`{ unlistedQuery }`, principal);
      expect(q.data).toBeNull();
      expect(q.errors.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
      const m = await run(`mutation { unlistedMutation }`, principal);
      expect(m.errors.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    }
  });

  it("lets resolver errors through unchanged (code, message, details), and masks bugs as internal errors", async () => {
    const failing = (error: Error) => ({ users: { assignRoles: async () => Promise.reject(error) } });
    const mutation = `mutation { assignRoles(userId: "u", roles: [VIEWER]) { id } }`;
    const c = await run(mutation, admin, failing(conflict("already so", { id: "x" })));
    expect(c.errors).toEqual([expect.objectContaining({ message: "already so", extensions: { code: "CONFLICT", details: { id: "x" } } })]);
    const n = await run(mutation, admin, failing(notFound("User", "u")));
    expect(n.errors).toEqual([expect.objectContaining({ message: "User u was not found", extensions: { code: "NOT_FOUND", details: { id: "u" } } })]);
    const bug = await run(mutation, admin, failing(new TypeError("x is undefined")));
    expect(bug.errors).toEqual([expect.objectContaining({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } })]);
  });

  it("asks the authorization module: UNAUTHENTICATED without a principal, FORBIDDEN without the action", async () => {
    const anonymous = await run(`{ users { totalCount } }`, null);
    expect(anonymous.errors.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
    const viewer: TenantActor = { kind: "user", tenantId: "t", userId: "v", roles: ["VIEWER"] };
    const refused = await run(`{ users { totalCount } }`, viewer);
    expect(refused.errors.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    expect(mayPerform(viewer, Action.ManageRoles)).toBe(false);
  });

  it("knows a rule for every root field of the real schema", () => {
    const real = buildSchemaSync({ resolvers, validate: { forbidUnknownValues: false }, pubSub: NO_PUBSUB });
    // permissionsFor throws on duplicates; every root field must be listed by exactly one module.
    expect(() => permissionsFor(real)).not.toThrow();
  });
});
