/**
 * ISO-8601 durations as Knative's DeliverySpec writes them (`backoffDelay`,
 * `timeout`, `retryAfterMax`): `PT0.2S`, `PT1M`, `P1DT12H`, `P2W`.
 */

/** A text that is not an ISO-8601 duration, or one that cannot be a delay. */
export class DurationError extends Error {
  override name = 'DurationError';
}

// Years and months have no fixed length; like Knative's period parser we
// turn them into milliseconds with the mean Gregorian lengths.
const MS_PER_UNIT = {
  years: 365.2425 * 86_400_000,
  months: 30.436875 * 86_400_000,
  weeks: 7 * 86_400_000,
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1_000,
} as const;

const NUMBER = String.raw`(\d+(?:[.,]\d+)?)`;
const PATTERN = new RegExp(`^P(?:${NUMBER}Y)?(?:${NUMBER}M)?(?:${NUMBER}W)?(?:${NUMBER}D)?` + `(?:T(?:${NUMBER}H)?(?:${NUMBER}M)?(?:${NUMBER}S)?)?$`);

/**
 * Milliseconds in an ISO-8601 duration (`PnYnMnWnDTnHnMnS`, any component
 * optional, decimals with `.` or `,`). Negative durations are refused: every
 * duration Knative reads here is a delay or a time limit.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toUpperCase();
  const match = PATTERN.exec(trimmed);
  if (!match || trimmed === 'P' || trimmed.endsWith('T')) {
    throw new DurationError(`"${text}" is not an ISO-8601 duration (e.g. PT0.2S, PT1M, P1D)`);
  }
  const [, years, months, weeks, days, hours, minutes, seconds] = match;
  const parts: [string | undefined, number][] = [
    [years, MS_PER_UNIT.years],
    [months, MS_PER_UNIT.months],
    [weeks, MS_PER_UNIT.weeks],
    [days, MS_PER_UNIT.days],
    [hours, MS_PER_UNIT.hours],
    [minutes, MS_PER_UNIT.minutes],
    [seconds, MS_PER_UNIT.seconds],
  ];
  let ms = 0;
  for (const [value, unit] of parts) {
    if (value !== undefined) ms += Number(value.replace(',', '.')) * unit;
  }
  return Math.round(ms);
}
