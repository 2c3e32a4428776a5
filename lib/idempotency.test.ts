import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db.js';
import { ConflictError, IdempotencyInFlightError, IdempotencyMismatchError, NotFoundError, ValidationError } from './errors.js';
import { fingerprintOf, idempotent, requireIdempotencyKey, type StoredResponse } from './idempotency.js';
import { newId } from './ids.js';
import { inTransaction, type Tx } from './unit-of-work.js';

describe('the request fingerprint', () => {
  it('does not depend on the order of keys, at any depth', () => {
    expect(fingerprintOf('POST', '/a', { amount: 1, note: { x: 1, y: [1, 2] } })).toBe(
      fingerprintOf('POST', '/a', { note: { y: [1, 2], x: 1 }, amount: 1 }),
    );
  });

  it.each([
    ['another value', ['POST', '/a', { amount: 2 }]],
    ['another type of the same value', ['POST', '/a', { amount: '1' }]],
    ['another path', ['POST', '/b', { amount: 1 }]],
    ['another method', ['PUT', '/a', { amount: 1 }]],
    ['an extra field', ['POST', '/a', { amount: 1, extra: null }]],
  ] as const)('changes with %s', (_, [method, path, body]) => {
    expect(fingerprintOf(method, path, body)).not.toBe(fingerprintOf('POST', '/a', { amount: 1 }));
  });

  it('depends on the order of array items', () => {
    expect(fingerprintOf('POST', '/a', [1, 2])).not.toBe(fingerprintOf('POST', '/a', [2, 1]));
  });
});

describe('the Idempotency-Key header', () => {
  it('is returned as given when it is 1 to 255 visible ASCII characters', () => {
    expect(requireIdempotencyKey('order-1')).toBe('order-1');
    expect(requireIdempotencyKey('k'.repeat(255))).toBe('k'.repeat(255));
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['with a space', 'a b'],
    ['too long', 'k'.repeat(256)],
    ['not ASCII', 'clé'],
  ])('is refused with ValidationError when %s', (_, header) => {
    expect(() => requireIdempotencyKey(header)).toThrow(ValidationError);
  });
});

describe('running an effect once per key', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.destroy();
  });

  const run = (scope: string, key: string, fingerprint: string, effect: (tx: Tx) => Promise<StoredResponse>) =>
    inTransaction(t.db, 'test', 'sink', (tx) => idempotent(tx, { scope, key, fingerprint }, effect)).then((r) => r.result);

  it('runs the effect the first time, then replays its response without running it', async () => {
    const scope = newId();
    let runs = 0;
    const effect = async () => ({ status: 201, body: { run: ++runs } });
    expect(await run(scope, 'k', 'f', effect)).toEqual({ status: 201, body: { run: 1 }, replayed: false });
    expect(await run(scope, 'k', 'f', effect)).toEqual({ status: 201, body: { run: 1 }, replayed: true });
    expect(runs).toBe(1);
  });

  it('refuses the same key with another fingerprint', async () => {
    const scope = newId();
    await run(scope, 'k', 'f1', async () => ({ status: 201, body: {} }));
    await expect(run(scope, 'k', 'f2', async () => ({ status: 201, body: {} }))).rejects.toThrow(IdempotencyMismatchError);
  });

  it('scopes keys: the same key in another scope runs again', async () => {
    let runs = 0;
    const effect = async () => ({ status: 201, body: { run: ++runs } });
    await run(newId(), 'k', 'f', effect);
    expect(await run(newId(), 'k', 'f', effect)).toMatchObject({ replayed: false, body: { run: 2 } });
  });

  it("stores a business refusal (409) and replays it; the refusal's writes are undone", async () => {
    const scope = newId();
    const marker = newId();
    const refuse = async (tx: Tx): Promise<StoredResponse> => {
      await tx.trx('accounts').insert({ id: marker, email: 'x@example.com', name: 'x' });
      throw new ConflictError('balance too short');
    };
    const first = await run(scope, 'k', 'f', refuse);
    expect(first).toMatchObject({ status: 409, replayed: false, body: { status: 409, title: 'Conflict', detail: 'balance too short' } });
    expect(await t.db('accounts').where({ id: marker }).first()).toBeUndefined();
    const again = await run(scope, 'k', 'f', async () => ({ status: 201, body: {} }));
    expect(again).toEqual({ ...first, replayed: true });
  });

  it('stores nothing when the effect fails otherwise, so the client may retry', async () => {
    const scope = newId();
    await expect(run(scope, 'k', 'f', async () => Promise.reject(new NotFoundError('no such account')))).rejects.toThrow(NotFoundError);
    expect(await t.db('idempotency_keys').where({ scope }).count()).toEqual([{ count: 0 }]);
    expect(await run(scope, 'k', 'f', async () => ({ status: 201, body: { ok: true } }))).toMatchObject({ replayed: false });
  });

  it('answers IdempotencyInFlightError to the same key while the first is still running', async () => {
    const scope = newId();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const first = run(scope, 'k', 'f', async () => {
      started();
      await held;
      return { status: 201, body: { first: true } };
    });
    await running;
    await expect(run(scope, 'k', 'f', async () => ({ status: 201, body: { second: true } }))).rejects.toThrow(IdempotencyInFlightError);
    release();
    expect(await first).toMatchObject({ replayed: false, body: { first: true } });
    expect(await run(scope, 'k', 'f', async () => ({ status: 201, body: { third: true } }))).toMatchObject({ replayed: true, body: { first: true } });
  });
});
