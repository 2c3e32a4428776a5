import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { checkPorts, FREE_PORTS, freePort, PortTakenError } from './ports.js';

/** Another program holding a port on 127.0.0.1. */
async function occupy(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('the port check', () => {
  it('passes free ports and skips port 0', async () => {
    await expect(checkPorts([{ port: await freePort(), variable: 'GATEWAY_PORT', what: 'the API gateway' }, { port: 0, variable: 'BROKER_PORT', what: 'the Broker ingress' }])).resolves.toBeUndefined();
  });

  it('picks free ports below the range outgoing connections take theirs from, each once, and ones nothing listens on', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    // Never the same port twice in one process: a stack picks its functions' ports before any of them listens.
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(FREE_PORTS.from);
      expect(port).toBeLessThanOrEqual(FREE_PORTS.to);
    }
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  it('names every taken port and the variable that moves it', async () => {
    const [a, b] = [await occupy(), await occupy()];
    try {
      const failure = await checkPorts([
        { port: a.port, variable: 'GATEWAY_PORT', what: 'the API gateway' },
        { port: await freePort(), variable: 'BROKER_PORT', what: 'the Broker ingress' },
        { port: b.port, variable: 'FUNCTIONS_PORT', what: 'deposit, FUNCTIONS_PORT + 1' },
      ]).catch((err: Error) => err);
      expect(failure).toBeInstanceOf(PortTakenError);
      expect((failure as Error).message.split('\n')).toEqual([
        `port ${a.port} (the API gateway) is taken by another program: set GATEWAY_PORT to a free port (0 picks one)`,
        `port ${b.port} (deposit, FUNCTIONS_PORT + 1) is taken by another program: set FUNCTIONS_PORT to a free port (0 picks one)`,
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('waits out its grace for a port that is being let go of', async () => {
    const held = await occupy();
    setTimeout(() => void held.close(), 300);
    const started = Date.now();
    await checkPorts([{ port: held.port, variable: 'POSTGRES_PORT', what: 'the embedded PostgreSQL' }], 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
