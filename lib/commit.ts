/**
 * A REST request's change, committed then published: one step routine in
 * one statement (with its Idempotency-Key record on money routes), then the
 * events it produced go to K_SINK.
 */
import type { RouteReply, RouteRequest, Runtime } from './function.js';
import { change, fingerprintOf, idempotent, requireIdempotencyKey, type IdempotentOutcome } from './messaging.js';
import { producing } from './tracing/events.js';

/**
 * Runs step `step` and publishes its events; returns the step's result. A
 * request starts a saga: its events carry their producer span's context.
 */
export async function commitChange<T>(rt: Runtime, step: string, input: unknown): Promise<T> {
  const { result, events } = await producing(undefined, (trace) => change<T>(rt.sql, rt.name, step, input, trace), (r) => r.events);
  await rt.publisher.publish(events);
  return result;
}

/**
 * Runs step `step` once per Idempotency-Key (scoped to `scope`, the
 * account) and publishes its events; a replay answers the first response.
 * `holdSeconds` keeps replays off (409) while the request goes on after the
 * commit (Prefer: wait).
 */
export async function commitIdempotent(
  rt: Runtime,
  req: RouteRequest,
  scope: string,
  step: string,
  input: unknown,
  holdSeconds = 0,
): Promise<IdempotentOutcome & { key: string; scope: string }> {
  const key = requireIdempotencyKey(req.header('idempotency-key'));
  const id = { scope, key, fingerprint: fingerprintOf(req.method, req.path, req.body), holdSeconds };
  const outcome = await producing(undefined, (trace) => idempotent(rt.sql, rt.name, id, step, input, trace), (o) => o.events);
  await rt.publisher.publish(outcome.events);
  return { ...outcome, key, scope };
}

/** The HTTP answer of an idempotent outcome: a replay says so. */
export function replyOf(outcome: IdempotentOutcome): RouteReply {
  return { status: outcome.status, body: outcome.body, ...(outcome.replayed ? { headers: { 'Idempotent-Replayed': 'true' } } : {}) };
}
