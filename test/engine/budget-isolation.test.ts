import { expect, it } from "vitest";
import { runPolicy } from "../../src/engine/index.js";

it("an evaluation stopped by its work budget does not charge the next evaluation", () => {
  // A fuzzy key lookup over 50,000 keys exceeds a 200-step budget…
  const wide: Record<string, number> = {};
  for (let i = 0; i < 50_000; i++) wide[`k${i}`] = i;
  const scan = runPolicy("A **u** is ok if __missing key__ of **u** is equal to 1.", { u: wide }, { maxSteps: 200 });
  expect(scan.error).toMatch(/^Evaluation error: .*maxSteps/);
  // …and the next, tiny evaluation under the same budget starts from zero.
  const small = runPolicy("A **u** is ok if __a__ of **u** is equal to 1.", { u: { a: 1 } }, { maxSteps: 200 });
  expect(small).toMatchObject({ result: true, error: null });
});
