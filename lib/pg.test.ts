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
