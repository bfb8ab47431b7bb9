/** The six-rule "driving test" policy (docs/language.md#a-complete-example), shared by the tests and the benchmarks. */
export const DRIVING_TEST_POLICY = `A **driving test** gets a driving licence
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
