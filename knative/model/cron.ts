/**
 * PingSource schedules, accepted exactly as Knative's webhook accepts them
 * (eventing `pkg/apis/sources/v1/ping_validation.go`): no `@every`, the
 * `spec.timezone` prepended as `CRON_TZ=`, then robfig/cron v3's
 * `ParseStandard` (`parser.go`): an optional `TZ=`/`CRON_TZ=` prefix, a
 * descriptor (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
 * `@midnight`, `@hourly`) or exactly five fields of comma lists of `*`, `?`,
 * numbers or names (JAN-DEC, SUN-SAT, any case), ranges `a-b` and steps
 * `/n` (`a/n` runs to the end of the field), weekdays 0-6.
 *
 * The grammar is robfig's own, so it is read here; croner computes the fire
 * times in the time zone. The fields reach croner as explicit lists, with
 * robfig's day rule: day-of-month and day-of-week both must match when
 * either field starts with `*` or `?`, either may match otherwise.
 */
import { Cron } from 'croner';

/** A schedule Knative would run. */
export interface CronSchedule {
  /** The IANA zone the schedule runs in. */
  timezone: string;
  /** The first fire time after `after`, or undefined when the schedule never fires. */
  next(after: Date): Date | undefined;
}

/** Why Knative would refuse a schedule, and which PingSource field the webhook blames. */
export interface CronRefusal {
  field: 'schedule' | 'timezone';
  message: string;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const BOUNDS: { min: number; max: number; names?: string[]; offset?: number }[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS, offset: 1 },
  { min: 0, max: 6, names: DAYS, offset: 0 },
];
const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

class Refused extends Error {}

/** Go's `strconv.Atoi` and robfig's checks on it, or a month/weekday name. */
function parseIntOrName(text: string, names: string[] | undefined, offset = 0): number {
  const named = names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + offset;
  if (!/^[+-]?\d+$/.test(text)) throw new Refused(`failed to parse int from ${text}: strconv.Atoi: parsing "${text}": invalid syntax`);
  const n = Number(text);
  if (n < 0) throw new Refused(`negative number (${n}) not allowed: ${text}`);
  return n;
}

/** One field: its values, and whether a range in it started with `*` or `?` (robfig's star bit). */
function parseField(field: string, { min, max, names, offset }: (typeof BOUNDS)[number]): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  // strings.FieldsFunc on ',': empty elements vanish, so "1,,2" is "1,2" and "," is no value at all.
  for (const expr of field.split(',').filter((r) => r !== '')) {
    const rangeAndStep = expr.split('/');
    const lowAndHigh = rangeAndStep[0]!.split('-');
    let start: number;
    let end: number;
    if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
      [start, end, star] = [min, max, true];
    } else {
      if (lowAndHigh.length > 2) throw new Refused(`too many hyphens: ${expr}`);
      start = parseIntOrName(lowAndHigh[0]!, names, offset);
      end = lowAndHigh.length === 2 ? parseIntOrName(lowAndHigh[1]!, names, offset) : start;
    }
    if (rangeAndStep.length > 2) throw new Refused(`too many slashes: ${expr}`);
    const step = rangeAndStep.length === 2 ? parseIntOrName(rangeAndStep[1]!, undefined) : 1;
    if (rangeAndStep.length === 2 && lowAndHigh.length === 1) end = max;
    if (start < min) throw new Refused(`beginning of range (${start}) below minimum (${min}): ${expr}`);
    if (end > max) throw new Refused(`end of range (${end}) above maximum (${max}): ${expr}`);
    if (start > end) throw new Refused(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
    if (step === 0) throw new Refused(`step of range should be a positive number: ${expr}`);
    for (let v = start; v <= end; v += step) values.add(v);
  }
  return { values, star };
}

/** Whether Go's `time.LoadLocation` would load `zone` ("" and "UTC" are UTC; "Local" the process zone). */
function knownZone(zone: string): boolean {
  if (zone === '' || zone === 'UTC' || zone === 'Local') return true;
  try {
    // The zone database is case-sensitive where Go reads it; Intl is not.
    const resolved = new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
    return resolved === zone || resolved.toLowerCase() !== zone.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Reads a PingSource's `schedule` with its `timezone` ("" for none).
 * Without a zone, Knative's adapter uses its own local zone, which is UTC in its image; so does this.
 */
export function parseSchedule(schedule: string, timezone = ''): CronSchedule | CronRefusal {
  if (schedule.includes('@every')) return { field: 'schedule', message: 'unsupported descriptor @every' };
  // PingSource's defaulting (`ping_defaults.go`) fills an empty schedule.
  const defaulted = schedule === '' ? '* * * * *' : schedule;
  let spec = timezone === '' ? defaulted : `CRON_TZ=${timezone} ${defaulted}`;
  let zone = 'UTC';
  try {
    if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
      const space = spec.indexOf(' ');
      // robfig slices up to the first space; with none it panics, and the webhook fails.
      if (space < 0) throw new Refused(`a time zone needs a schedule after it: ${spec}`);
      const name = spec.slice(spec.indexOf('=') + 1, space);
      if (!knownZone(name)) return { field: 'timezone', message: `provided bad location ${name}: unknown time zone ${name}` };
      zone = name === '' || name === 'Local' ? 'UTC' : name;
      spec = spec.slice(space).trim();
    }
    if (spec.startsWith('@') && DESCRIPTORS[spec] === undefined) throw new Refused(`unrecognized descriptor: ${spec}`);
    const fields = (DESCRIPTORS[spec] ?? spec).split(/\s+/).filter((f) => f !== '');
    if (fields.length !== 5) throw new Refused(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
    const parsed = fields.map((f, i) => parseField(f, BOUNDS[i]!));
    return scheduleOf(parsed, zone);
  } catch (err) {
    if (err instanceof Refused) return { field: 'schedule', message: err.message };
    throw err;
  }
}

function scheduleOf(fields: { values: Set<number>; star: boolean }[], timezone: string): CronSchedule {
  if (fields.some((f) => f.values.size === 0)) return { timezone, next: () => undefined };
  const pattern = fields.map((f, i) => (f.star && f.values.size === BOUNDS[i]!.max - BOUNDS[i]!.min + 1 ? '*' : [...f.values].join(','))).join(' ');
  const cron = new Cron(pattern, { timezone, domAndDow: fields[2]!.star || fields[4]!.star });
  return { timezone, next: (after) => cron.nextRun(after) ?? undefined };
}
