/** Helpers every REST route uses: auth, ids from the path, and running a change. */
import { NotFoundError } from './errors.js';
import type { RouteReply, RouteRequest } from './http-function.js';
import { completeIdempotent, fingerprintOf, idempotent, requireIdempotencyKey, type StoredResponse } from './idempotency.js';
import { UUID_PATTERN } from './ids.js';
import type { Runtime } from './runtime.js';
import { inTransaction, type Tx } from './unit-of-work.js';

/** A path id; anything that is not a UUID names nothing, so 404. */
export function idParam(req: RouteRequest, name: string): string {
  const value = req.params[name] ?? '';
  if (!UUID_PATTERN.test(value)) throw new NotFoundError(`No ${name.replace(/Id$/, '')} ${value}`);
  return value.toLowerCase();
}

/**
 * The account the bearer token speaks for, which must be the account named
 * by path parameter `param`: 401 without a valid token (checked first, so an
 * anonymous caller learns nothing about ids), 404 for any other account.
 */
export function authorizeAccount(rt: Runtime, req: RouteRequest, param: string): string {
  const caller = rt.tokens.verify(req.header('authorization'));
  if (caller !== idParam(req, param)) throw new NotFoundError(`No account ${req.params[param]}`);
  return caller;
}

/** As `authorizeAccount`, for an account id named in the request body. */
export function authorizeBodyAccount(rt: Runtime, req: RouteRequest, accountId: string): string {
  const caller = rt.tokens.verify(req.header('authorization'));
  if (caller !== accountId.toLowerCase()) throw new NotFoundError(`No account ${accountId}`);
  return caller;
}

/** Runs a change in one transaction, then publishes the events it produced. */
export async function runChange<T>(rt: Runtime, work: (tx: Tx) => Promise<T>): Promise<T> {
  const { result, events } = await inTransaction(rt.db, rt.name, 'sink', work);
  await rt.emitter.publish(events);
  return result;
}

/** A request that goes on after its change commits, e.g. to wait for the saga. */
export interface Continuation {
  /** How long replays are held off (409) while `finish` runs. */
  holdSeconds: number;
  /** Turns the committed response into the final one, which replays then get. */
  finish(committed: StoredResponse): Promise<StoredResponse>;
}

/**
 * Runs a money route once per Idempotency-Key (scoped to `scope`, the
 * account): a replay answers the first response with `Idempotent-Replayed: true`.
 */
export async function runIdempotent(
  rt: Runtime,
  req: RouteRequest,
  scope: string,
  effect: (tx: Tx) => Promise<StoredResponse>,
  continuation?: Continuation,
): Promise<RouteReply> {
  const key = requireIdempotencyKey(req.header('idempotency-key'));
  const fingerprint = fingerprintOf(req.method, req.path, req.body);
  const holdSeconds = continuation?.holdSeconds;
  const outcome = await runChange(rt, (tx) => idempotent(tx, { scope, key, fingerprint, holdSeconds }, effect));
  if (outcome.replayed) return { status: outcome.status, body: outcome.body, headers: { 'Idempotent-Replayed': 'true' } };
  if (!continuation) return { status: outcome.status, body: outcome.body };
  let final: StoredResponse = outcome;
  try {
    final = await continuation.finish(outcome);
  } finally {
    // Whatever happened while finishing, replays get what this request answered.
    await completeIdempotent(rt.db, { scope, key }, final).catch((err: Error) =>
      rt.log.warn('could not store the final response; the hold expires instead', { error: err.message }),
    );
  }
  return { status: final.status, body: final.body };
}
