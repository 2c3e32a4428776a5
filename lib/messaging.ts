/**
 * Calls of the messaging routines (lib/messaging.sql.ts): each saga step,
 * HTTP change and idempotent request is one statement (the step's wrapper:
 * `<step>__consume`, `__idempotent`, `__change`), whose result carries the
 * CloudEvents it produced. Step names come from the code, never from input.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from './errors.js';
import type { Queries } from './pg.js';
import type { TraceContext } from './tracing/context.js';

/** A CloudEvent as a function produces it (SPEC §2), JSON-ready. */
export interface SagaEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  dataschema: string;
  data: unknown;
  [extension: string]: unknown;
}

/** The step routine that changes nothing (the delivery is only recorded). */
export const NO_EFFECT = 'saga_no_effect';

/** What a delivery produced. */
export interface Consumed {
  /** The delivery was handled before: nothing changed, `events` is the reply it got then (if any). */
  duplicate: boolean;
  events: SagaEvent[];
}

/** The delivery a step runs for: its inbox key. */
export interface Delivered {
  source: string;
  id: string;
  type: string;
}

/** The trace context argument of a wrapper: the events' distributed-tracing extension, or null. */
const traceArgument = (trace: TraceContext | undefined) => (trace ? JSON.stringify(trace) : null);

/**
 * Runs step routine `step` for `delivered` at most once for consumer `fn`;
 * the events it produces carry `trace` unless they carry their own.
 */
export async function consume(
  sql: Queries,
  fn: string,
  delivered: Delivered,
  replyId: string,
  step: string,
  input: unknown,
  trace?: TraceContext,
): Promise<Consumed> {
  const row = await sql.one<{ duplicate: boolean; events: SagaEvent[] }>(`select * from ${step}__consume($1, $2, $3, $4, $5, $6, $7)`, [
    fn,
    delivered.source,
    delivered.id,
    delivered.type,
    replyId,
    JSON.stringify(input),
    traceArgument(trace),
  ]);
  return { duplicate: row!.duplicate, events: row!.events };
}

/** A request's identity under its Idempotency-Key. */
export interface IdempotencyKey {
  /** Keys are scoped per account. */
  scope: string;
  key: string;
  /** Identifies the request: method, path and body. */
  fingerprint: string;
  /**
   * The request goes on after its effect commits (waiting for the saga):
   * replays are told 409 until the final response is stored, or until this
   * many seconds pass (a holder that died).
   */
  holdSeconds?: number;
}

export interface IdempotentOutcome {
  replayed: boolean;
  status: number;
  body: unknown;
  events: SagaEvent[];
}

/** Runs step routine `step` once per key; a replay returns the stored response. */
export async function idempotent(sql: Queries, fn: string, id: IdempotencyKey, step: string, input: unknown, trace?: TraceContext): Promise<IdempotentOutcome> {
  const row = await sql.one<IdempotentOutcome>(`select * from ${step}__idempotent($1, $2, $3, $4, $5, $6, $7)`, [
    fn,
    id.scope,
    id.key,
    id.fingerprint,
    id.holdSeconds ?? 0,
    JSON.stringify(input),
    traceArgument(trace),
  ]);
  return row!;
}

/** Runs step routine `step` for a request that needs no key; returns its result and events. */
export async function change<T>(sql: Queries, fn: string, step: string, input: unknown, trace?: TraceContext): Promise<{ result: T; events: SagaEvent[] }> {
  const row = await sql.one<{ result: T; events: SagaEvent[] }>(`select * from ${step}__change($1, $2, $3)`, [fn, JSON.stringify(input), traceArgument(trace)]);
  return row!;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Reads and checks the header; a money route refuses a request without one. */
export function requireIdempotencyKey(header: string | undefined): string {
  if (header === undefined || header === '') {
    throw new ValidationError('Idempotency-Key header is required on this route');
  }
  if (!KEY_PATTERN.test(header)) {
    throw new ValidationError('Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
  return header;
}

export function fingerprintOf(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${canonicalJson(body)}`).digest('hex');
}

/** JSON with sorted keys, so `{a,b}` and `{b,a}` are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
