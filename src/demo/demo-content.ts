import type { DemoSeed } from "./seed.js";
import { conflict } from "../errors/domain-error.js";
import type { Role } from "../generated/prisma/enums.js";
import type { TenantActor } from "../identity/actor.js";
import type { Services } from "../services.js";

/**
 * Realistic content for a first look at the product: policies with stored tests and several described
 * versions, a flow chaining two of them, a draft waiting to be published, groups and a few audited runs, so
 * that every query in GraphiQL answers with something. Everything goes through the services, so it is
 * validated and audited exactly like a user's own work.
 */

/** The six-rule "driving test" policy (docs/language.md#a-complete-example). */
export const DRIVING_LICENCE_POLICY = `A **driving test** gets a driving licence
  if the **driving test** passes the age test
  and the **driving test** passes the test requirements
  and the **driving test** has taken the test in the time period.

A **driving test** passes the age test
  if the __date of birth__ of the **person** of the **driving test** is earlier than 2008-12-12.

A **driving test** passes the test requirements
  if **driving test** passes the theory test
  and the **driving test** passes the practical test.

A **driving test** passes the theory test
  if the __multiple choice__ of the **theory** of the **scores** of the **driving test** is at least 43
  and the __hazard perception__ of the **theory** of the **scores** of the **driving test** is at least 44.

A **driving test** passes the practical test
  if the __minor__ of the __practical__ of the __scores__ of the **driving test** is no more than 15
  and the __major__ of the __practical__ of the __scores__ of the **driving test** is equal to false.

A **driving test** has taken the test in the time period
  if the __theory__ of the **testDates** of the **driving test** is within 2 years
  and the __practical__ of the **testDates** of the **driving test** is within 30 days.
`;

const ADULT_V1 = "A **Person** gets approved if the __age__ of the **Person** is at least 18.";
const ADULT_V2 = `A **Person** gets approved
  if the __age__ of the **Person** is at least 18
  and the __age__ of the **Person** is no more than 75.`;
const CREDIT_V1 = "A **Person** is creditworthy if the __score__ of the **Person** is at least 600.";
const CREDIT_V2 = "A **Person** is creditworthy if the __score__ of the **Person** is at least 650.";
const FREE_SHIPPING = "An **Order** gets free shipping if the __total__ of the **Order** is at least 50.";

/** The example flow of docs/language.md#flow-definition: age check, then credit check, borderline cases to a person. */
const loanFlow = (agePolicyId: string, creditPolicyId: string): string => `flow:
  start:
    - id: age-check
      type: start
      policyId: ${agePolicyId}
      policyName: Adult applicant
      onTrue:
        - id: credit-check
          type: policy
          policyId: ${creditPolicyId}
          policyName: Credit score
          onTrue:
            - id: approve
              type: return
              returnValue: true
          onFalse:
            - id: review
              type: custom
              outcome: manual-review
      onFalse:
        - id: decline
          type: return
          returnValue: false
`;

const daysBefore = (today: Date, days: number): string => new Date(today.getTime() - days * 86_400_000).toISOString().slice(0, 10);

/** Driving-test data; the test dates are relative to `today` because the policy asks for recent tests. */
export function drivingTestExample(today: Date, overrides: { major?: boolean; dateOfBirth?: string } = {}) {
  return {
    drivingTest: {
      person: { dateOfBirth: overrides.dateOfBirth ?? "1990-01-01" },
      scores: { theory: { multipleChoice: 45, hazardPerception: 75 }, practical: { major: overrides.major ?? false, minor: 13 } },
      testDates: { theory: daysBefore(today, 200), practical: daysBefore(today, 5) },
    },
  };
}

/** Names of the demo bases; the first one marks a tenant that already has the demo content. */
export const DEMO_BASE_NAMES = ["Driving licence", "Adult applicant", "Credit score", "Loan application", "Free shipping"] as const;

export interface DemoActors {
  /** Creates, edits and publishes the organisation's policies and the groups (needs author and publish). */
  publisher: TenantActor;
  /** Owns a never-published draft and proposes a change to a published policy (needs author). */
  editor: TenantActor;
}

export interface DemoContent {
  drivingLicenceId: string;
  adultApplicantId: string;
  creditScoreId: string;
  loanApplicationId: string;
  freeShippingId: string;
  /** The draft of "Credit score" waiting to be published as version 2. */
  pendingDraftId: string;
  groupIds: string[];
}

/**
 * Creates the demo content in the actors' tenant. Refuses (CONFLICT) when the tenant already has a live base
 * with one of the demo names, so running it twice does not duplicate anything.
 */
export async function createDemoContent(services: Services, actors: DemoActors, today = new Date()): Promise<DemoContent> {
  const { publisher, editor } = actors;
  const { lifecycle, groups, execution } = services;
  const existing = await lifecycle.listBases(publisher, { nameContains: null, kind: null, groupId: null, hasDraft: null, published: null }, 100);
  const taken = existing.edges.map((e) => e.node.name).filter((name) => (DEMO_BASE_NAMES as readonly string[]).includes(name));
  if (taken.length > 0) throw conflict(`The tenant already has demo content (${taken.join(", ")})`, { names: taken });

  const publishNew = async (
    name: string,
    content: string,
    description: string,
    tests: { name: string; data: Record<string, unknown>; expected: unknown }[],
    kind: "POLICY" | "FLOW" = "POLICY",
  ) => {
    const draft = await lifecycle.create(publisher, kind, { name, content, description, tests });
    await lifecycle.publish(publisher, { draftId: draft.id, description, expectedRevision: draft.revision });
    return draft.baseId;
  };
  /** Copies the latest version into a draft, changes it and (unless `publish` is false) publishes it. */
  const revise = async (actor: TenantActor, baseId: string, content: string, description: string, publish = true) => {
    const [latest] = (await lifecycle.listRecords(actor, baseId)).filter((r) => r.status === "PUBLISHED");
    const copy = await lifecycle.draftFromVersion(actor, latest!.id, false);
    const edited = await lifecycle.updateDraft(actor, { draftId: copy.id, expectedRevision: copy.revision, content, description });
    if (publish) await lifecycle.publish(actor, { draftId: edited.id, description, expectedRevision: edited.revision });
    return edited.id;
  };

  const drivingLicenceId = await publishNew(
    "Driving licence",
    DRIVING_LICENCE_POLICY,
    "The driving test of the language guide (docs/language.md): age, theory and practical scores, and recent test dates",
    [
      { name: "passes with recent tests (dates relative to the day the demo was created)", data: drivingTestExample(today), expected: true },
      { name: "a major fault fails", data: drivingTestExample(today, { major: true }), expected: false },
      { name: "too young", data: drivingTestExample(today, { dateOfBirth: "2010-05-01" }), expected: false },
    ],
  );
  const adultApplicantId = await publishNew("Adult applicant", ADULT_V1, "Applicants must be adults", [
    { name: "adult", data: { person: { age: 30 } }, expected: true },
    { name: "minor", data: { person: { age: 16 } }, expected: false },
  ]);
  await revise(publisher, adultApplicantId, ADULT_V2, "Applicants must be between 18 and 75");
  const creditScoreId = await publishNew("Credit score", CREDIT_V1, "A score of 600 or more is creditworthy", [
    { name: "good score", data: { person: { score: 720 } }, expected: true },
    { name: "poor score", data: { person: { score: 540 } }, expected: false },
  ]);
  const pendingDraftId = await revise(editor, creditScoreId, CREDIT_V2, "Raise the minimum score to 650 (waiting for a publisher)", false);
  const loanApplicationId = await publishNew(
    "Loan application",
    loanFlow(adultApplicantId, creditScoreId),
    "Age check, then credit check; poor credit goes to manual review",
    [
      { name: "approved", data: { person: { age: 40, score: 700 } }, expected: true },
      { name: "too young", data: { person: { age: 17, score: 700 } }, expected: false },
    ],
    "FLOW",
  );
  // Never published: owned by the editor, who alone (with admins) sees and changes it until it is published.
  const freeShipping = await lifecycle.create(editor, "POLICY", {
    name: "Free shipping",
    content: FREE_SHIPPING,
    description: "Orders of 50 or more ship free",
    tests: [{ name: "large order", data: { order: { total: 80 } }, expected: true }],
  });

  const lending = await groups.create(publisher, { name: "Lending", description: "Policies and flows that decide loan applications" });
  for (const baseId of [adultApplicantId, creditScoreId, loanApplicationId]) await groups.addMember(publisher, lending.id, baseId);
  const licensing = await groups.create(publisher, { name: "Licensing", description: "Driving licence decisions" });
  await groups.addMember(publisher, licensing.id, drivingLicenceId);

  // A few runs, so the audit log shows executions too.
  await execution.runPolicy(publisher, { by: "base", id: drivingLicenceId }, drivingTestExample(today));
  await execution.runFlow(publisher, { by: "base", id: loanApplicationId }, { person: { age: 40, score: 580 } });

  return {
    drivingLicenceId,
    adultApplicantId,
    creditScoreId,
    loanApplicationId,
    freeShippingId: freeShipping.baseId,
    pendingDraftId,
    groupIds: [lending.id, licensing.id],
  };
}

/**
 * The embedded first start: the demo tenant gets the content once, acted by its publisher and editor. A tenant
 * with any base at all (even deleted ones) is left alone, so restarts never add it again and a user who removed
 * the demo content does not get it back.
 */
export async function seedDemoContentOnce(services: Services, seed: DemoSeed): Promise<DemoContent | null> {
  if ((await services.stores.bases.countAllBases(seed.tenantId)) > 0) return null;
  const actor = (role: Role): TenantActor => {
    const user = seed.users.find((u) => u.role === role);
    if (!user) throw new Error(`The demo tenant has no ${role} user`);
    return { kind: "user", tenantId: seed.tenantId, userId: user.id, roles: [role] };
  };
  return createDemoContent(services, { publisher: actor("PUBLISHER"), editor: actor("EDITOR") });
}
