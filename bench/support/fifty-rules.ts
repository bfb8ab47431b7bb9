/**
 * The benchmarks' generated long policy: one golden rule over 49 labelled rules of two conditions each, and data
 * that passes every one. bench:engine measures it in process, bench:run through the gateway (µs per rule).
 */
export function fiftyRules(): { text: string; data: unknown } {
  const lines: string[] = [];
  const refs: string[] = [];
  const u: Record<string, unknown> = {};
  for (let i = 1; i < 50; i++) {
    lines.push(`c${i}. A **u** passes check ${i} if __f${i}__ of **u** is greater than ${i} and __g${i}__ of **u** is equal to "x${i}".`);
    refs.push(`§c${i} passes`);
    u[`f${i}`] = i + 1;
    u[`g${i}`] = `x${i}`;
  }
  lines.unshift(`A **u** is ok if ${refs.join(" and ")}.`);
  return { text: lines.join("\n"), data: { u } };
}
