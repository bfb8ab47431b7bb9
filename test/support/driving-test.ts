/** The six-rule "driving test" policy (docs/language.md#a-complete-example): the demo content's text, shared by the tests and the benchmarks. */
export { DRIVING_LICENCE_POLICY as DRIVING_TEST_POLICY } from "../../src/demo/demo-content.js";

const daysBefore = (today: Date, days: number): string => new Date(today.getTime() - days * 86_400_000).toISOString().slice(0, 10);

/** Data that passes (theory 200 days and practical 5 days before `today`), or fails with a major fault. */
export function drivingTestData(today: Date, major = false) {
  return {
    drivingTest: {
      person: { dateOfBirth: "1990-01-01" },
      scores: { theory: { multipleChoice: 45, hazardPerception: 75 }, practical: { major, minor: 13 } },
      testDates: { theory: daysBefore(today, 200), practical: daysBefore(today, 5) },
    },
  };
}
