/**
 * ISO-8601 durations as Knative reads a DeliverySpec (`backoffDelay`,
 * `timeout`, `retryAfterMax`). Knative parses them with rickb777/date's
 * `period.Parse` and converts with `Period.Duration()`
 * (eventing `pkg/apis/duck/v1/delivery_types.go`, `pkg/kncloudevents/retries.go`);
 * this follows that parser: an optional sign, `P`, then years, months,
 * weeks, days and after `T` hours, minutes, seconds, each optional but at
 * least one present (or the zero `P0`), decimals with `.` or `,`; a year
 * counts 365.2425 days and a month 30.436875, as `Duration()` does.
 */

const NUMBER = String.raw`(\d+(?:[.,]\d*)?)`;
const PATTERN = new RegExp(`^([-+])?P(?:${NUMBER}Y)?(?:${NUMBER}M)?(?:${NUMBER}W)?(?:${NUMBER}D)?(?:T(?:${NUMBER}H)?(?:${NUMBER}M)?(?:${NUMBER}S)?)?$`);
const DAY = 86_400_000;
const MS_PER_UNIT = [365.2425 * DAY, 30.436875 * DAY, 7 * DAY, DAY, 3_600_000, 60_000, 1_000];

/** Milliseconds in an ISO-8601 duration (negative when signed so), or undefined when `text` is not one. */
export function parseDuration(text: string): number | undefined {
  if (text === 'P0') return 0;
  const match = PATTERN.exec(text);
  const parts = match?.slice(2) ?? [];
  // "P" alone, or a "T" with nothing after it, is no duration.
  if (!match || parts.every((p) => p === undefined) || (text.includes('T') && parts.slice(4).every((p) => p === undefined))) return undefined;
  const ms = parts.reduce((sum, p, i) => sum + (p === undefined ? 0 : Number(p.replace(',', '.')) * MS_PER_UNIT[i]!), 0);
  return Math.round(match[1] === '-' ? -ms : ms);
}
