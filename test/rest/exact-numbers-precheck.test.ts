import { expect, it } from "vitest";
import { hasInexactNumber, isInexactNumber, mayHoldInexactNumber } from "../../src/shared/exact-numbers.js";

// Number texts of every form JSON allows: integers up to 20 digits, -0, fractions (with trailing zeros), exponents.
function numberTexts(): string[] {
  const texts = ["0", "-0", "1", "-1", "10", "100", "9007199254740992", "9007199254740993", "123456789012345", "1234567890123456"];
  let seed = 7;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const digits = (n: number) => Array.from({ length: n }, (_, i) => String(i === 0 ? 1 + Math.floor(random() * 9) : Math.floor(random() * 10))).join("");
  for (let i = 0; i < 2000; i++) {
    const sign = random() < 0.3 ? "-" : "";
    const whole = random() < 0.1 ? "0" : digits(1 + Math.floor(random() * 20));
    const fraction = random() < 0.3 ? `.${digits(1 + Math.floor(random() * 4))}${random() < 0.3 ? "0" : ""}` : "";
    const exponent = random() < 0.15 ? `${random() < 0.5 ? "e" : "E"}${random() < 0.5 ? "-" : ""}${Math.floor(random() * 400)}` : "";
    texts.push(sign + whole + fraction + exponent);
  }
  return texts;
}

it("the pre-check never hides an inexact number, and passes bodies of short integers without the token scan", () => {
  let passed = 0;
  for (const number of numberTexts()) {
    for (const body of [`{"data":{"amount":${number}}}`, `{"data":[${number},"1990-01-01",{"n-0":-5}]}`]) {
      const inexact = isInexactNumber(number);
      // An inexact number is always caught by the pre-check, and the answer is the scan's.
      if (inexact) expect(mayHoldInexactNumber(body), `${number} in ${body}`).toBe(true);
      expect(hasInexactNumber(body), `${number} in ${body}`).toBe(inexact);
      if (!mayHoldInexactNumber(body)) passed++;
    }
  }
  // Integers of up to 15 digits (and dates, keys, negative numbers) skip the scan.
  expect(passed).toBeGreaterThan(100);
  expect(mayHoldInexactNumber(`{"data":{"drivingTest":{"person":{"dateOfBirth":"1990-01-01"},"scores":{"theory":{"multipleChoice":45,"minor":-13}}}}}`)).toBe(
    false,
  );
});
