/**
 * Idempotency-Key for money routes. The record (fingerprint and stored
 * response) is written in the same transaction as the effect; a
 * transaction-scoped advisory lock on (scope, key) tells a request that
 * arrives while the first is still in flight (409) from a replay.
 */
import { createHash } from 'node:crypto';
import {
  ConflictError,
  IdempotencyInFlightError,
  IdempotencyMismatchError,
  ValidationError,
} from './errors.js';
import type { Db } from './db.js';
import { toProblem } from './problem.js';
import type { Tx } from './unit-of-work.js';

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface IdempotencyKey {
  /** Keys are scoped per account. */
  scope: string;
  key: string;
  /** Identifies the request: method, path and body. */
  fingerprint: string;
  /**
   * The request goes on after its effect commits (e.g. waiting for the saga):
   * replays are told 409 until `completeIdempotent` stores the final
   * response, or until this many seconds pass (a holder that died).
   */
  holdSeconds?: number;
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

/**
 * Runs `effect` once per key: a replay returns the stored response with
 * `replayed: true`. A business refusal (ConflictError) is stored and replayed
 * like a success; any other error stores nothing, so the client may retry.
 */
export async function idempotent(
  tx: Tx,
  id: IdempotencyKey,
  effect: (tx: Tx) => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  const { rows } = await tx.trx.raw<{ rows: { locked: boolean }[] }>(
    'select pg_try_advisory_xact_lock(hashtextextended(?, 0)) as locked',
    [`idempotency\n${id.scope}\n${id.key}`],
  );
  if (!rows[0]?.locked) {
    throw new IdempotencyInFlightError('A request with this Idempotency-Key is still being processed; retry shortly');
  }
  const existing = await tx.trx('idempotency_keys')
    .where({ scope: id.scope, key: id.key })
    .first('fingerprint', 'status_code', 'response', tx.trx.raw('held_until > now() as held'));
  if (existing) {
    if (existing.fingerprint !== id.fingerprint) {
      throw new IdempotencyMismatchError('This Idempotency-Key was already used with a different request');
    }
    if (existing.held) {
      throw new IdempotencyInFlightError('A request with this Idempotency-Key is still being processed; retry shortly');
    }
    return { status: existing.status_code, body: existing.response, replayed: true };
  }
  let response: StoredResponse;
  try {
    response = await tx.savepoint(effect);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    const problem = toProblem(err);
    response = { status: problem.status, body: problem };
  }
  await tx.trx('idempotency_keys').insert({
    scope: id.scope,
    key: id.key,
    fingerprint: id.fingerprint,
    status_code: response.status,
    response: JSON.stringify(response.body),
    held_until: id.holdSeconds ? tx.trx.raw('now() + make_interval(secs => ?)', [id.holdSeconds]) : null,
  });
  return { ...response, replayed: false };
}

/**
 * Stores the final response of a held request and releases the hold.
 *
 * The request answers only after this, so it is on the path of every waited
 * order; it commits without waiting for the disk (`synchronous_commit` off for
 * this one statement's transaction). A crash in that instant loses only this
 * update: the hold then expires and replays get the response stored with the
 * effect, which is the answer a replay after a crashed holder gets anyway.
 */
export async function completeIdempotent(db: Db, id: Pick<IdempotencyKey, 'scope' | 'key'>, response: StoredResponse): Promise<void> {
  await db.raw(
    `with relaxed as (select set_config('synchronous_commit', 'off', true))
     update idempotency_keys set status_code = ?, response = ?, held_until = null
     from relaxed where scope = ? and key = ?`,
    [response.status, JSON.stringify(response.body), id.scope, id.key],
  );
}
