/**
 * `k6/http`: request and batch, synchronous as in k6 (the main thread sends
 * them), and `expectedStatuses`, which decides what counts in
 * `http_req_failed`.
 */
import { sendSync, type WireRequest, type WireResponse } from '../vu.js';

type Range = { min: number; max: number };

/** What `http.expectedStatuses(...)` returns, to pass as `responseCallback`. */
export interface ExpectedStatuses {
  readonly expected: Range[];
}

export interface Params {
  headers?: Record<string, string>;
  tags?: Record<string, string>;
  responseCallback?: ExpectedStatuses;
  timeout?: string | number;
}

export interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
  error: string;
  url: string;
  timings: { duration: number };
  json(): unknown;
}

type BatchItem = string | [string, string, (string | null)?, (Params | null)?] | { method: string; url: string; body?: string | null; params?: Params | null };

export function expectedStatuses(...statuses: (number | Range)[]): ExpectedStatuses {
  return { expected: statuses.map((s) => (typeof s === 'number' ? { min: s, max: s } : s)) };
}

/** k6's default: 2xx and 3xx are expected. */
const DEFAULT_EXPECTED = expectedStatuses({ min: 200, max: 399 });

/** `60s`, `500ms` or a number of milliseconds. */
function timeoutMs(timeout: string | number | undefined): number {
  if (timeout === undefined) return 60_000;
  if (typeof timeout === 'number') return timeout;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(timeout);
  if (!match) throw new Error(`not a timeout k6 knows: ${timeout}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

function wire(method: string, url: string, body: string | null | undefined, params: Params | null | undefined): WireRequest {
  const p = params ?? {};
  return {
    method: method.toUpperCase(),
    url,
    body: body ?? null,
    headers: { ...p.headers },
    // k6 names a request by its URL unless the script tags it with a name.
    tags: { name: url, ...p.tags },
    expected: (p.responseCallback ?? DEFAULT_EXPECTED).expected,
    timeoutMs: timeoutMs(p.timeout),
  };
}

function response(url: string, w: WireResponse): Response {
  return {
    status: w.status,
    headers: w.headers,
    body: w.body,
    error: w.error,
    url,
    timings: { duration: w.durationMs },
    json: () => JSON.parse(w.body) as unknown,
  };
}

export function request(method: string, url: string, body?: string | null, params?: Params | null): Response {
  return response(url, sendSync([wire(method, url, body, params)])[0]!);
}

export const get = (url: string, params?: Params | null): Response => request('GET', url, null, params);
export const post = (url: string, body?: string | null, params?: Params | null): Response => request('POST', url, body, params);

export function batch(items: BatchItem[]): Response[] {
  const requests = items.map((item) => {
    if (typeof item === 'string') return wire('GET', item, null, null);
    if (Array.isArray(item)) return wire(item[0], item[1], item[2], item[3]);
    return wire(item.method, item.url, item.body, item.params);
  });
  return sendSync(requests).map((w, i) => response(requests[i]!.url, w));
}

export default { request, get, post, batch, expectedStatuses };
