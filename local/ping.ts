/**
 * PingSources, locally: sends each PingSource's event to its sink on its
 * schedule (read by the Knative model, so it runs whatever Knative accepts),
 * in binary mode with the data bytes as written, as Knative's PingSource
 * adapter does. An interval override lets tests tick faster than a minute.
 */
import { newId } from '../lib/ids.js';
import type { Logger } from '../lib/log.js';
import type { PingSourceModel } from '../knative/model/index.js';

export interface PingOptions {
  sources: readonly PingSourceModel[];
  /** Absolute URL of a PingSource's sink. */
  sinkUrl(source: PingSourceModel): string;
  log: Logger;
  /** When set, every source fires at this interval instead of its schedule. */
  intervalSeconds?: number;
  /** The clock (tests move it). */
  now?: () => Date;
  /** With sender authentication on: the `Authorization` a source's tick carries. */
  authorization?: (source: PingSourceModel) => Promise<string | undefined>;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface PingScheduler {
  stop(): void;
}

export function startPingSources({ sources, sinkUrl, log, intervalSeconds, now = () => new Date(), authorization }: PingOptions): PingScheduler {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  for (const source of sources) {
    const fire = async () => {
      const headers: Record<string, string> = {
        'ce-specversion': '1.0',
        'ce-id': newId(),
        'ce-source': `/apis/v1/namespaces/${source.namespace}/pingsources/${source.name}`,
        'ce-type': 'dev.knative.sources.ping',
        'ce-time': now().toISOString(),
        ...(source.contentType ? { 'content-type': source.contentType } : {}),
      };
      const body = source.data ?? Buffer.alloc(0);
      try {
        const auth = await authorization?.(source);
        if (auth) headers.authorization = auth;
        const res = await fetch(sinkUrl(source), { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
        log.info('ping', { source: source.name, status: res.status });
      } catch (err) {
        log.warn('ping failed', { source: source.name, error: (err as Error).message });
      }
    };
    const schedule = (next = intervalSeconds !== undefined ? new Date(now().getTime() + intervalSeconds * 1000) : source.schedule.next(now())) => {
      if (stopped || !next) return;
      // A timer waits at most about 24.8 days; a later run (@yearly) waits in steps.
      const wait = next.getTime() - now().getTime();
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (wait > MAX_TIMER_MS) schedule(next);
        else void fire().finally(() => schedule());
      }, Math.min(wait, MAX_TIMER_MS));
      timer.unref();
      timers.add(timer);
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
