/**
 * ISO 8601 durations of fixed length: weeks, days, hours, minutes and seconds (`P2D`, `PT36H`, `P1W`,
 * `P1DT12H`, `PT90M`). Years and months are refused because their length depends on the calendar date they
 * start from, and an expiry that moves with the calendar would surprise more than it helps; the written form
 * is kept as given, its length in seconds beside it.
 */
const DURATION = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Longest expiry accepted: one year of days, enough for any review and small enough for an int column. */
export const MAX_EXPIRY_SECONDS = 366 * 24 * 3600;

/** The duration's length in seconds, or a sentence saying what is wrong. */
export function durationSeconds(text: string): { seconds: number } | { problem: string } {
  const match = DURATION.exec(text);
  if (!match) {
    if (/^P(?:\d+Y|\d+M|.*\dY|[^T]*\dM)/.test(text)) return { problem: "years and months are not accepted (their length varies); use weeks, days or hours" };
    return { problem: "must be an ISO 8601 duration such as P2D, PT12H or P1DT6H" };
  }
  const [weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number];
  const total = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds;
  if (total < 60) return { problem: "must be at least one minute" };
  if (total > MAX_EXPIRY_SECONDS) return { problem: "must be at most 366 days" };
  return { seconds: total };
}
