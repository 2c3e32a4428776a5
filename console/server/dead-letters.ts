/**
 * Dead letters through the dead-letters function's admin API (locally
 * through the gateway, in a cluster at its Service), with the admin token:
 * `GET /dead-letters` and `POST /dead-letters/{id}/replay`.
 */
import { NotFoundError, TransientError, ValidationError } from '../../lib/errors.js';
import type { DeadLetter } from './api-types.js';

export interface DeadLetterSource {
  /** The newest first (the function lists at most 500). */
  list(): Promise<DeadLetter[]>;
  /** Sends the dead letter back into the Broker. @throws NotFoundError for an unknown id */
  replay(id: number): Promise<void>;
}

export interface DeadLetterSourceOptions {
  /** Where `/dead-letters` is served: the gateway, or the dead-letters Service. */
  baseUrl: string;
  adminToken: string;
  timeoutMs?: number;
}

/** The `detail` of a problem document, or the text itself. */
function detailOf(text: string): string {
  try {
    return String((JSON.parse(text) as { detail?: unknown }).detail ?? text);
  } catch {
    return text;
  }
}

export function createDeadLetterSource({ baseUrl, adminToken, timeoutMs = 10_000 }: DeadLetterSourceOptions): DeadLetterSource {
  const base = baseUrl.replace(/\/+$/, '');
  async function call(method: 'GET' | 'POST', path: string): Promise<Response> {
    let res: Response;
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
      res = await fetch(base + path, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new TransientError(`dead-letters is not answering (${(err as Error).message})`);
    }
    if (res.ok) return res;
    const detail = detailOf(await res.text().catch(() => ''));
    if (res.status === 404) throw new NotFoundError(detail || `dead-letters answered 404 for ${path}`);
    // Our own token was refused, or the function failed: either way not the caller's fault.
    throw new TransientError(`dead-letters answered ${res.status}${detail ? `: ${detail}` : ''}`);
  }
  return {
    async list() {
      const body: unknown = await (await call('GET', '/dead-letters')).json();
      if (!Array.isArray(body)) throw new TransientError('dead-letters answered something that is not a list');
      return body as DeadLetter[];
    },
    async replay(id) {
      if (!Number.isSafeInteger(id) || id < 1) throw new ValidationError(`No dead letter ${id}: ids are positive integers`);
      await (await call('POST', `/dead-letters/${id}/replay`)).body?.cancel();
    },
  };
}
