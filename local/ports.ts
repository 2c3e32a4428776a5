/**
 * The stand-in's ports are checked before anything starts, so a port that
 * another program holds stops `npm start` with the variable to change,
 * rather than half a stack and an EADDRINUSE.
 */
import { randomInt } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';

/** A port the stack will listen on, and the variable that moves it. */
export interface PortClaim {
  port: number;
  variable: string;
  /** What listens there, e.g. `the API gateway`. */
  what: string;
}

export class PortTakenError extends Error {
  override name = 'PortTakenError';
}

/** Listens on 127.0.0.1:`port` (0: any free port); resolves with the port listened on. */
export function listen(server: net.Server | http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** The port 127.0.0.1:`port` could be listened on right now (0: a free one), or undefined when it is taken. */
async function probe(port: number): Promise<number | undefined> {
  const server = net.createServer().unref();
  const listened = await listen(server, port).catch(() => undefined);
  await new Promise((resolve) => server.close(resolve));
  return listened;
}

/**
 * Where free ports are picked: below the ephemeral range (32768 up on Linux,
 * 49152 up on macOS and Windows), from which the kernel gives outgoing
 * connections their local ports. A port from that range can be taken by a
 * connection between the probe and the listen, and a function process then
 * cannot start on the port its Triggers were resolved to.
 */
export const FREE_PORTS = { from: 20_000, to: 32_767 } as const;

/** Ports this process was given already: its servers may not all listen yet. */
const handedOut = new Set<number>();

/** A port nothing listens on now, from FREE_PORTS, and not one given before to this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FREE_PORTS.from + randomInt(FREE_PORTS.to - FREE_PORTS.from + 1);
    if (handedOut.has(port) || (await probe(port)) === undefined || handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free TCP port on 127.0.0.1 between ${FREE_PORTS.from} and ${FREE_PORTS.to}`);
}

/** `port`, or a free port when it is 0. */
export const portOr = async (port: number): Promise<number> => (port === 0 ? freePort() : port);

/**
 * Resolves when every claimed port is free; claims of port 0 (any free
 * port) are skipped. A taken port is asked again until `graceMs` has passed
 * (a stack that was just killed may take a moment to let go of its ports),
 * then PortTakenError names each taken port and its variable.
 */
export async function checkPorts(claims: readonly PortClaim[], graceMs = 0): Promise<void> {
  const deadline = Date.now() + graceMs;
  const wanted = claims.filter((c) => c.port !== 0);
  let taken: PortClaim[];
  for (;;) {
    const answers = await Promise.all(wanted.map((c) => probe(c.port)));
    taken = wanted.filter((_, i) => answers[i] === undefined);
    if (taken.length === 0) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const lines = taken.map((c) => `port ${c.port} (${c.what}) is taken by another program: set ${c.variable} to a free port (0 picks one)`);
  throw new PortTakenError(lines.join('\n'));
}
