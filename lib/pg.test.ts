/** The functions' pool: prepared statements, transactions, and connections that break under them. */
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../test/db.js';
import { isTransient } from './errors.js';

describe('the pool', () => {
  const t = useTestDatabase({ poolMax: 2, applicationName: 'pg-test' });

  it('runs a statement with values, and the same statement again prepared', async () => {
    expect(await t.sql.query('select $1::int + 1 as n', [41])).toEqual([{ n: 42 }]);
    expect(await t.sql.one('select $1::int + 1 as n', [1])).toEqual({ n: 2 });
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await t.sql.query('create table if not exists kept (n int)');
    await t.sql.transaction((tx) => tx.query('insert into kept values (1)'));
    await expect(t.sql.transaction(async (tx) => (await tx.query('insert into kept values (2)'), Promise.reject(new Error('no'))))).rejects.toThrow('no');
    expect(await t.sql.query('select n from kept')).toEqual([{ n: 1 }]);
  });

  it('runs a session on one connection, each statement committed on its own', async () => {
    await t.sql.query('create table if not exists seen (n int)');
    const pids = await t.sql.session(async (s) => {
      const first = (await s.one<{ pid: number }>('select pg_backend_pid() as pid'))!.pid;
      await s.query('insert into seen values (1)');
      // Committed already: another connection sees it before the session ends.
      expect(await t.db('seen').where({ n: 1 })).toHaveLength(1);
      return [first, (await s.one<{ pid: number }>('select pg_backend_pid() as pid'))!.pid];
    });
    expect(new Set(pids).size).toBe(1);
  });

  it('closes the connection of a session that throws, so a session lock it took is let go', async () => {
    const held = t.sql.session(async (s) => {
      await s.query('select pg_advisory_lock(42)');
      throw new Error('failed while holding the lock');
    });
    await expect(held).rejects.toThrow('failed while holding the lock');
    const free = async () => (await t.db.raw('select pg_try_advisory_lock(42) as got, pg_advisory_unlock_all()')).rows[0].got as boolean;
    await expect.poll(free, { timeout: 2000 }).toBe(true);
  });

  it('pools the connection of a session that resolves again', async () => {
    const pidOf = () => t.sql.session(async (s) => (await s.one<{ pid: number }>('select pg_backend_pid() as pid'))!.pid);
    const first = await pidOf();
    // The pool hands out the connection released last.
    expect(await pidOf()).toBe(first);
  });

  it('survives the server ending a connection in the middle of a transaction: a transient error, then a working pool', async () => {
    const failed = t.sql.transaction(async (tx) => {
      const { pid } = (await tx.one<{ pid: number }>('select pg_backend_pid() as pid'))!;
      await t.db.raw('select pg_terminate_backend(?)', [pid]);
      await new Promise((r) => setTimeout(r, 100));
      await tx.query('select 1');
    });
    const err = await failed.catch((e: unknown) => e);
    expect(isTransient(err), String(err)).toBe(true);
    expect(await t.sql.one('select 1 as one')).toEqual({ one: 1 });
  });
});
