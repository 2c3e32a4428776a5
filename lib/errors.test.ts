import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import * as errors from './errors.js';
import { ConflictError, isTransient, OrdersagaError, TransientError, ValidationError } from './errors.js';
import { toProblem } from './problem.js';

/** The error a real connection attempt gets, so the test follows what pg and Node actually throw. */
async function connectError(config: pg.ClientConfig): Promise<Error> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch (err) {
    return err as Error;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error('connected to a server that should not exist');
}

async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('the named errors', () => {
  const named = Object.entries(errors).filter(([, value]) => typeof value === 'function' && value.prototype instanceof OrdersagaError) as [string, new (m: string) => OrdersagaError][];

  it.each(named)('%s is named for its class and answers with its status and title', (name, Named) => {
    const err = name === 'ValidationError' ? new ValidationError('bad', [{ path: '/x', message: 'no' }]) : new Named('why');
    expect(err.name).toBe(name);
    expect(err).toBeInstanceOf(Error);
    expect(toProblem(err)).toMatchObject({ status: err.status, title: err.title, detail: err.message });
  });

  it('answers each status the project uses, with the titles of RFC 9110', () => {
    expect(Object.fromEntries(named.map(([name, Named]) => [name, `${new Named('x').status} ${new Named('x').title}`]))).toEqual({
      ValidationError: '400 Bad Request',
      UnauthorizedError: '401 Unauthorized',
      ForbiddenError: '403 Forbidden',
      NotFoundError: '404 Not Found',
      MethodNotAllowedError: '405 Method Not Allowed',
      ConflictError: '409 Conflict',
      InsufficientFundsError: '409 Conflict',
      IdempotencyInFlightError: '409 Conflict',
      IdempotencyMismatchError: '422 Unprocessable Content',
      TooManyRequestsError: '429 Too Many Requests',
      TransientError: '503 Service Unavailable',
    });
  });
});

describe('isTransient', () => {
  it('treats a refused TCP connection as transient (503)', async () => {
    const err = await connectError({ host: '127.0.0.1', port: await closedPort() });
    expect(isTransient(err)).toBe(true);
    expect(toProblem(err).status).toBe(503);
  });

  it('treats a missing Unix socket (server down or restarting) as transient (503)', async () => {
    const err = await connectError({ host: path.join(os.tmpdir(), `no-such-postgres-${process.pid}`), port: 5432 });
    expect((err as { code?: string }).code).toBe('ENOENT');
    expect(isTransient(err)).toBe(true);
    expect(toProblem(err).status).toBe(503);
  });

  it('treats PostgreSQL serialization failures, deadlocks and shutdowns as transient', () => {
    for (const code of ['40001', '40P01', '57P01', '08006', '53300']) {
      expect(isTransient(Object.assign(new Error('pg'), { code })), code).toBe(true);
    }
  });

  it('does not retry bugs, constraint violations, refusals or a file that is missing', () => {
    expect(isTransient(new Error('boom'))).toBe(false);
    expect(isTransient(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isTransient(new ValidationError('bad'))).toBe(false);
    expect(isTransient(new ConflictError('sold out'))).toBe(false);
    expect(isTransient(Object.assign(new Error('no file'), { code: 'ENOENT', syscall: 'open' }))).toBe(false);
    expect(isTransient(new TransientError('later'))).toBe(true);
  });
});
