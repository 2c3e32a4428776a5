/**
 * What Knative's PingSource webhook accepts and refuses, and when an accepted
 * schedule fires: the one table both the stand-in's and the validator's
 * tests run (robfig/cron v3 `parser.go`, eventing `ping_validation.go`).
 */
export interface CronCase {
  schedule: string;
  timezone?: string;
  /** Undefined when Knative accepts the schedule; otherwise the field it blames and the start of its message. */
  refused?: { field: 'schedule' | 'timezone'; message: string };
  /** `[after, first fire time]` in UTC, or `[after, undefined]` for a schedule that never fires. */
  next?: [string, string | undefined];
}

export const CRON_CASES: CronCase[] = [
  { schedule: '* * * * *', next: ['2026-01-01T00:00:30Z', '2026-01-01T00:01:00.000Z'] },
  { schedule: '*/2 * * * *', next: ['2026-01-01T00:01:00Z', '2026-01-01T00:02:00.000Z'] },
  { schedule: '0 9 * * 1-5', next: ['2026-01-03T00:00:00Z', '2026-01-05T09:00:00.000Z'] },
  { schedule: '@hourly', timezone: 'Europe/Berlin', next: ['2026-01-01T00:30:00Z', '2026-01-01T01:00:00.000Z'] },
  { schedule: '0 9 * * *', timezone: 'Europe/Berlin', next: ['2026-07-01T00:00:00Z', '2026-07-01T07:00:00.000Z'] },
  { schedule: 'CRON_TZ=Europe/Berlin 0 9 * * *', next: ['2026-01-01T00:00:00Z', '2026-01-01T08:00:00.000Z'] },
  { schedule: 'TZ=America/New_York @daily', next: ['2026-01-01T00:00:00Z', '2026-01-01T05:00:00.000Z'] },
  { schedule: '@yearly', next: ['2026-03-01T00:00:00Z', '2027-01-01T00:00:00.000Z'] },
  { schedule: '@annually', next: ['2026-03-01T00:00:00Z', '2027-01-01T00:00:00.000Z'] },
  { schedule: '@monthly', next: ['2026-01-15T00:00:00Z', '2026-02-01T00:00:00.000Z'] },
  { schedule: '@weekly', next: ['2026-01-01T00:00:00Z', '2026-01-04T00:00:00.000Z'] },
  { schedule: '@midnight', next: ['2026-01-01T12:00:00Z', '2026-01-02T00:00:00.000Z'] },
  { schedule: '0 0 * JAN-mar Mon', next: ['2026-03-31T00:00:00Z', '2027-01-04T00:00:00.000Z'] },
  { schedule: '0 0 ? * ?', next: ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00.000Z'] },
  { schedule: '5/20 * * * *', next: ['2026-01-01T00:46:00Z', '2026-01-01T01:05:00.000Z'] },
  { schedule: '1,,2 * * * *', next: ['2026-01-01T00:01:00Z', '2026-01-01T00:02:00.000Z'] },
  { schedule: '+5 * * * *', next: ['2026-01-01T00:00:00Z', '2026-01-01T00:05:00.000Z'] },
  { schedule: '*-5 * * * *', next: ['2026-01-01T00:06:00Z', '2026-01-01T00:07:00.000Z'] },
  { schedule: ' 0\t0 * * * ', next: ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00.000Z'] },
  { schedule: '*/5 * * * *', timezone: 'UTC', next: ['2026-01-01T00:01:00Z', '2026-01-01T00:05:00.000Z'] },
  // Either day field starting with * or ? makes both count; otherwise either one will do.
  { schedule: '0 0 */2 * 1', next: ['2026-01-05T00:00:00Z', '2026-01-19T00:00:00.000Z'] },
  { schedule: '0 0 13 * 5', next: ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00.000Z'] },
  { schedule: '0 0 31 2 *', next: ['2026-01-01T00:00:00Z', undefined] },
  { schedule: ', * * * *', next: ['2026-01-01T00:00:00Z', undefined] },

  { schedule: '@every 2h', refused: { field: 'schedule', message: 'unsupported descriptor @every' } },
  { schedule: '@every 2h', timezone: 'Europe/Paris', refused: { field: 'schedule', message: 'unsupported descriptor @every' } },
  { schedule: '2', refused: { field: 'schedule', message: 'expected exactly 5 fields, found 1: [2]' } },
  // PingSource's defaulting (`ping_defaults.go`) makes an empty schedule every minute.
  { schedule: '', next: ['2026-01-01T00:00:30Z', '2026-01-01T00:01:00.000Z'] },
  { schedule: '0 0 0 * * *', refused: { field: 'schedule', message: 'expected exactly 5 fields, found 6' } },
  { schedule: '* * * *', refused: { field: 'schedule', message: 'expected exactly 5 fields, found 4' } },
  { schedule: '0 0 * * 7', refused: { field: 'schedule', message: 'end of range (7) above maximum (6): 7' } },
  { schedule: '60 * * * *', refused: { field: 'schedule', message: 'end of range (60) above maximum (59)' } },
  { schedule: '0 24 * * *', refused: { field: 'schedule', message: 'end of range (24) above maximum (23)' } },
  { schedule: '0 0 0 * *', refused: { field: 'schedule', message: 'beginning of range (0) below minimum (1)' } },
  { schedule: '0 0 * 13 *', refused: { field: 'schedule', message: 'end of range (13) above maximum (12)' } },
  { schedule: '*/0 * * * *', refused: { field: 'schedule', message: 'step of range should be a positive number' } },
  { schedule: '*/61 * * * *', next: ['2026-01-01T00:00:00Z', '2026-01-01T01:00:00.000Z'] },
  { schedule: '5-1 * * * *', refused: { field: 'schedule', message: 'beginning of range (5) beyond end of range (1)' } },
  { schedule: '1-2-3 * * * *', refused: { field: 'schedule', message: 'too many hyphens' } },
  { schedule: '*/2/3 * * * *', refused: { field: 'schedule', message: 'too many slashes' } },
  { schedule: 'a * * * *', refused: { field: 'schedule', message: 'failed to parse int from a' } },
  { schedule: '0 0 L * *', refused: { field: 'schedule', message: 'failed to parse int from L' } },
  { schedule: '0 0 * * MON#1', refused: { field: 'schedule', message: 'failed to parse int from MON#1' } },
  { schedule: '0 0 * * sunday', refused: { field: 'schedule', message: 'failed to parse int from sunday' } },
  { schedule: '@reboot', refused: { field: 'schedule', message: 'unrecognized descriptor: @reboot' } },
  { schedule: '@HOURLY', refused: { field: 'schedule', message: 'unrecognized descriptor: @HOURLY' } },
  { schedule: 'CRON_TZ=UTC', refused: { field: 'schedule', message: 'a time zone needs a schedule after it' } },
  { schedule: 'CRON_TZ=UTC * * * * *', timezone: 'Europe/Berlin', refused: { field: 'schedule', message: 'expected exactly 5 fields, found 6' } },
  { schedule: '*/2 * * * *', timezone: 'Knative/Land', refused: { field: 'timezone', message: 'provided bad location Knative/Land: unknown time zone Knative/Land' } },
  { schedule: 'TZ=Mars/Olympus * * * * *', refused: { field: 'timezone', message: 'provided bad location Mars/Olympus' } },
  { schedule: '@hourly', timezone: 'europe/berlin', refused: { field: 'timezone', message: 'provided bad location europe/berlin' } },
];
