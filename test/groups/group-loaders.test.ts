import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/database/database.js";
import type { TenantActor } from "../../src/identity/actor.js";
import { createGroupLoaders } from "../../src/modules/groups/group.loaders.js";
import { GroupStore } from "../../src/stores/group.store.js";
import { fixtures, startTestGateway, type TestGateway, type TestTenant } from "../support/kit.js";

let gateway: TestGateway;
let tenant: TestTenant;
const groupIds: string[] = [];
const baseIds: string[] = [];

beforeAll(async () => {
  gateway = await startTestGateway();
  const { prisma } = gateway.database;
  const make = fixtures(prisma);
  tenant = await make.tenant().user("eve", "EDITOR").create();
  for (let g = 0; g < 20; g++) groupIds.push((await make.group(tenant).named(`group-${g}`).create()).id);
  for (let b = 0; b < 30; b++) {
    const builder = make
      .base(tenant)
      .ofKind(b % 3 ? "POLICY" : "FLOW")
      .ownedBy("eve");
    if (b % 5 !== 0) builder.published();
    const base = await builder.create();
    baseIds.push(base.id);
    for (let g = 0; g < 20; g += 1 + (b % 4)) {
      await prisma.groupMember.create({ data: { tenantId: tenant.id, groupId: groupIds[g]!, baseId: base.id } });
    }
  }
});
afterAll(() => gateway?.stop());

/** The real database behind a proxy that counts the statements the loaders send. */
function countingDatabase(): { database: Database; statements: () => number } {
  let count = 0;
  const prisma = gateway.database.prisma;
  const counted = new Proxy(prisma, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === "$queryRaw")
        return (...args: unknown[]) => {
          count++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      if (property === "groupMember") {
        return new Proxy(value as object, {
          get: (model, method) => {
            const fn = Reflect.get(model, method);
            return typeof fn === "function"
              ? (...args: unknown[]) => {
                  count++;
                  return fn.apply(model, args);
                }
              : fn;
          },
        });
      }
      return value;
    },
  });
  return { database: { ...gateway.database, prisma: counted } as Database, statements: () => count };
}

describe("group loaders", () => {
  it("load the member pages of many groups in two statements per page shape", async () => {
    const { database, statements } = countingDatabase();
    const loaders = createGroupLoaders(new GroupStore(database));
    const principal: TenantActor = { kind: "user", tenantId: tenant.id, userId: tenant.users.eve!.id, roles: ["EDITOR"] };
    const pages = await Promise.all(
      groupIds.flatMap((groupId) => [
        loaders.groupMembers.load({ actor: principal, groupId, kind: "POLICY", first: 3, after: null }),
        loaders.groupMembers.load({ actor: principal, groupId, kind: "FLOW", first: 3, after: null }),
      ]),
    );
    expect(statements()).toBe(4);
    expect(pages.every((page) => page.edges.length <= 3)).toBe(true);
    expect(pages.some((page) => page.pageInfo.hasNextPage)).toBe(true);
    // The batched pages equal what each group would get on its own.
    for (const [i, groupId] of groupIds.entries()) {
      const alone = await createGroupLoaders(gateway.services.stores.groups).groupMembers.load({
        actor: principal,
        groupId,
        kind: "POLICY",
        first: 3,
        after: null,
      });
      expect(pages[i * 2]).toEqual(alone);
    }
  });

  it("load the groups of many bases in one statement", async () => {
    const { database, statements } = countingDatabase();
    const loaders = createGroupLoaders(new GroupStore(database));
    const groups = await Promise.all(baseIds.map((id) => loaders.groupsOfBase.load(id)));
    expect(statements()).toBe(1);
    expect(groups[0]!.length).toBe(20);
    expect(groups[1]!.map((g) => g.name)).toEqual([...groups[1]!.map((g) => g.name)].sort());
  });
});
