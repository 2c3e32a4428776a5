/**
 * One virtual user: a worker thread that runs a k6 script's functions
 * synchronously, as k6 does. HTTP is sent by the main thread (./run.ts): the
 * VU posts the requests and blocks on a shared flag until the answers are on
 * its reply port. Samples of its checks and metrics go to the main thread
 * after each call.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { MetricKind, Sample } from './metrics.js';

/** What the main thread hands each VU. */
export interface VuData {
  vuId: number;
  env: Record<string, string>;
  /** Int32 flag: 0 while the VU waits for answers, 1 once they are on `replies`. */
  signal: SharedArrayBuffer;
  replies: MessagePort;
}

/** One request as the main thread sends it. */
export interface WireRequest {
  method: string;
  url: string;
  body: string | null;
  headers: Record<string, string>;
  tags: Record<string, string>;
  /** Statuses that are not failures (`http.expectedStatuses`). */
  expected: { min: number; max: number }[];
  timeoutMs: number;
}

export interface WireResponse {
  status: number;
  /** Header names in Go's canonical form, as k6 gives them (`Content-Type`). */
  headers: Record<string, string>;
  body: string;
  error: string;
  durationMs: number;
}

/** Messages from a VU to the main thread. */
export type VuMessage =
  | { kind: 'ready'; options: unknown; exports: string[] }
  | { kind: 'samples'; samples: Sample[] }
  | { kind: 'http'; requests: WireRequest[]; tags: Record<string, string> }
  | { kind: 'abort'; reason: string }
  | { kind: 'done'; result: string | undefined; error: string | undefined; aborted: boolean };

/** Messages from the main thread to a VU. */
export interface RunMessage {
  kind: 'run';
  fn: string;
  data: string | undefined;
  scenario: string;
  iteration: number;
}

const data = workerData as VuData;
const port = parentPort!;
const flag = new Int32Array(data.signal);

/** Where the running call is: what k6/execution reports. */
export const context = { vuId: data.vuId, scenario: '', iteration: 0 };

let pending: Sample[] = [];

/** Flushes the samples gathered so far to the main thread. */
export function flush(): void {
  if (pending.length === 0) return;
  port.postMessage({ kind: 'samples', samples: pending } satisfies VuMessage);
  pending = [];
}

export function emit(metric: string, kind: MetricKind, value: number, tags: Record<string, string> = {}): void {
  pending.push({ metric, kind, value, tags: { scenario: context.scenario, ...tags } });
  if (pending.length >= 1000) flush();
}

/** Sends `requests` at once and blocks until every answer is back. */
export function sendSync(requests: WireRequest[]): WireResponse[] {
  Atomics.store(flag, 0, 0);
  port.postMessage({ kind: 'http', requests, tags: { scenario: context.scenario } } satisfies VuMessage);
  Atomics.wait(flag, 0, 0);
  const answer = receiveMessageOnPort(data.replies);
  if (!answer) throw new Error('the main thread woke this VU without the answers');
  return answer.message as WireResponse[];
}

/** Blocks the VU, as k6's `sleep` does. */
export function sleepSync(seconds: number): void {
  if (seconds > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

/** Thrown by `exec.test.abort`: it ends the call, and the main thread stops the test. */
export class TestAborted extends Error {
  override name = 'TestAborted';
}

export function abortTest(reason: string): never {
  port.postMessage({ kind: 'abort', reason } satisfies VuMessage);
  throw new TestAborted(reason);
}

/**
 * Runs the script's functions as the main thread asks: `setup`, `teardown`,
 * `default` or a scenario's `exec`. Data crosses as JSON, as in k6.
 */
export function serve(script: Record<string, unknown>): void {
  port.on('message', (message: RunMessage) => {
    context.scenario = message.scenario;
    context.iteration = message.iteration;
    const fn = script[message.fn];
    let result: string | undefined;
    let error: string | undefined;
    let aborted = false;
    try {
      if (typeof fn !== 'function') throw new Error(`the script exports no function ${message.fn}`);
      const value: unknown = fn(message.data === undefined ? undefined : JSON.parse(message.data));
      result = value === undefined ? undefined : JSON.stringify(value);
    } catch (err) {
      aborted = err instanceof TestAborted;
      error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    }
    flush();
    port.postMessage({ kind: 'done', result, error, aborted } satisfies VuMessage);
  });
  port.postMessage({ kind: 'ready', options: script.options ?? {}, exports: Object.keys(script) } satisfies VuMessage);
}
