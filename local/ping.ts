/**
 * PingSources, locally: sends each PingSource's event to its sink on its
 * cron schedule (five fields: minute hour day-of-month month day-of-week;
 * `*`, numbers, lists, ranges and `*\/n` steps), as Knative's PingSource
 * adapter does. An interval override lets tests tick faster than a minute.
 */
import { CloudEvent, HTTP } from 'cloudevents';
import { newId } from '../lib/ids.js';
import type { Logger } from '../lib/log.js';
import type { PingSourceSpec } from './manifests.js';

const FIELD_RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
];

/** The allowed values of each of the five cron fields. */
export function parseCron(expression: string): Set<number>[] {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`schedule "${expression}" must have five fields`);
  return fields.map((field, i) => {
    const [min, max] = FIELD_RANGES[i]!;
    const values = new Set<number>();
    for (const part of field.split(',')) {
      const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!match) throw new Error(`schedule "${expression}": cannot read "${part}"`);
      const from = match[1] === '*' ? min : Number(match[2]);
      const to = match[1] === '*' ? max : match[3] !== undefined ? Number(match[3]) : match[4] ? max : from;
      const step = match[4] ? Number(match[4]) : 1;
      if (from < min || to > max || from > to || step < 1) throw new Error(`schedule "${expression}": "${part}" is out of range`);
      for (let v = from; v <= to; v += step) values.add(i === 4 && v === 7 ? 0 : v);
    }
    return values;
  });
}

/** The first whole minute after `after` that the schedule allows. */
export function nextRun(fields: Set<number>[], after: Date): Date {
  const t = new Date(after);
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  for (let i = 0; i < 366 * 24 * 60; i++) {
    if (
      fields[0]!.has(t.getUTCMinutes()) &&
      fields[1]!.has(t.getUTCHours()) &&
      fields[2]!.has(t.getUTCDate()) &&
      fields[3]!.has(t.getUTCMonth() + 1) &&
      fields[4]!.has(t.getUTCDay())
    ) {
      return t;
    }
    t.setUTCMinutes(t.getUTCMinutes() + 1);
  }
  throw new Error('schedule never fires');
}

export interface PingOptions {
  sources: readonly PingSourceSpec[];
  /** Absolute URL of a PingSource's sink. */
  sinkUrl(source: PingSourceSpec): string;
  log: Logger;
  /** When set, every source fires at this interval instead of its schedule. */
  intervalSeconds?: number;
}

export interface PingScheduler {
  stop(): void;
}

export function startPingSources({ sources, sinkUrl, log, intervalSeconds }: PingOptions): PingScheduler {
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  for (const source of sources) {
    const fields = parseCron(source.schedule);
    const fire = async () => {
      const event = new CloudEvent({
        id: newId(),
        source: `/apis/v1/namespaces/${source.namespace}/pingsources/${source.name}`,
        type: 'dev.knative.sources.ping',
        datacontenttype: source.contentType,
        data: source.contentType.includes('json') && source.data !== '' ? JSON.parse(source.data) : source.data,
      });
      const message = HTTP.binary(event);
      try {
        const res = await fetch(sinkUrl(source), { method: 'POST', headers: message.headers as Record<string, string>, body: message.body as string, signal: AbortSignal.timeout(30_000) });
        log.info('ping', { source: source.name, status: res.status });
      } catch (err) {
        log.warn('ping failed', { source: source.name, error: (err as Error).message });
      }
    };
    const schedule = () => {
      if (stopped) return;
      const wait = intervalSeconds !== undefined ? intervalSeconds * 1000 : nextRun(fields, new Date()).getTime() - Date.now();
      const timer = setTimeout(() => {
        void fire().finally(schedule);
      }, wait);
      timer.unref();
      timers.push(timer);
    };
    schedule();
  }
  return {
    stop() {
      stopped = true;
      timers.forEach(clearTimeout);
    },
  };
}
