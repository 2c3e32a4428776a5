/**
 * The main thread's side of the VUs: starts each as a worker thread on the
 * bundled script, sends the HTTP requests they post (so that their calls
 * block as in k6) and records the `http_req_*` samples of each.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { request as undiciRequest } from 'undici';
import type { MetricStore, Sample } from './metrics.js';
import type { RunMessage, VuData, VuMessage, WireRequest, WireResponse } from './vu.js';

/** How a call into the script ended. */
export interface CallResult {
  /** The function's return value, as JSON (setup's data). */
  result: string | undefined;
  error: string | undefined;
  aborted: boolean;
  /** The VU was stopped during the call (past a graceful stop). */
  interrupted?: boolean;
}

/** Go's canonical MIME header key, which is how k6 names response headers: `content-type` → `Content-Type`. */
export function canonicalHeader(name: string): string {
  return name
    .toLowerCase()
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('-');
}

async function sendOne(req: WireRequest): Promise<WireResponse> {
  const started = performance.now();
  try {
    const res = await undiciRequest(req.url, {
      method: req.method as 'GET',
      headers: req.headers,
      body: req.body ?? undefined,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    const body = await res.body.text();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[canonicalHeader(name)] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { status: res.statusCode, headers, body, error: '', durationMs: performance.now() - started };
  } catch (err) {
    return { status: 0, headers: {}, body: '', error: (err as Error).message, durationMs: performance.now() - started };
  }
}

/** The samples k6 records for one request. */
export function httpSamples(req: WireRequest, res: WireResponse, tags: Record<string, string>): Sample[] {
  const expected = res.status !== 0 && req.expected.some((r) => res.status >= r.min && res.status <= r.max);
  const all = { ...tags, method: req.method, status: String(res.status), expected_response: String(expected), ...req.tags };
  return [
    { metric: 'http_reqs', kind: 'counter', value: 1, tags: all },
    { metric: 'http_req_duration', kind: 'trend', value: res.durationMs, tags: all },
    { metric: 'http_req_failed', kind: 'rate', value: expected ? 0 : 1, tags: all },
  ];
}

export class Vu {
  readonly id: number;
  private readonly worker: Worker;
  private readonly flag: Int32Array;
  private readonly replies: MessageChannel['port1'];
  private waiting: ((result: CallResult) => void) | undefined;
  private exited = false;
  private stopping = false;
  readonly ready: Promise<{ options: unknown; exports: string[] }>;

  constructor(bundle: URL, id: number, env: Record<string, string>, store: MetricStore, onAbort: (reason: string) => void) {
    this.id = id;
    const signal = new SharedArrayBuffer(4);
    this.flag = new Int32Array(signal);
    const channel = new MessageChannel();
    this.replies = channel.port1;
    const data: VuData = { vuId: id, env, signal, replies: channel.port2 };
    this.worker = new Worker(bundle, { workerData: data, transferList: [channel.port2] });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (message: VuMessage) => {
        if (message.kind === 'ready') resolve(message);
        else if (message.kind === 'samples') store.add(message.samples);
        else if (message.kind === 'abort') onAbort(message.reason);
        else if (message.kind === 'done') this.settle(message);
        else void this.send(message.requests, message.tags, store);
      });
      this.worker.on('error', (err) => {
        reject(err);
        this.settle({ result: undefined, error: err.stack ?? err.message, aborted: false });
      });
      this.worker.on('exit', () => {
        this.exited = true;
        reject(new Error(`VU ${id} exited before it was ready`));
        this.settle({ result: undefined, error: `VU ${id} stopped`, aborted: false, interrupted: this.stopping });
      });
    });
  }

  private settle(result: CallResult): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(result);
  }

  private async send(requests: WireRequest[], tags: Record<string, string>, store: MetricStore): Promise<void> {
    const responses = await Promise.all(requests.map(sendOne));
    requests.forEach((req, i) => store.add(httpSamples(req, responses[i]!, tags)));
    if (this.exited) return;
    this.replies.postMessage(responses);
    Atomics.store(this.flag, 0, 1);
    Atomics.notify(this.flag, 0);
  }

  /** Calls the script's `fn` with `data` (JSON) in this VU. */
  call(fn: string, data: string | undefined, scenario: string, iteration: number): Promise<CallResult> {
    if (this.waiting) throw new Error(`VU ${this.id} is busy`);
    if (this.exited) return Promise.resolve({ result: undefined, error: `VU ${this.id} stopped`, aborted: false });
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.worker.postMessage({ kind: 'run', fn, data, scenario, iteration } satisfies RunMessage);
    });
  }

  /** Ends the VU, even in the middle of a call (k6 interrupts an iteration past its graceful stop). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.replies.close();
    await this.worker.terminate();
  }
}
