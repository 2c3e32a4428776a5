/**
 * The stand-in's ports are checked before anything starts, so a port that
 * another program holds stops `npm start` with the variable to change,
 * rather than half a stack and an EADDRINUSE.
 */
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

/** Whether 127.0.0.1:`port` can be listened on right now. */
function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * Resolves when every claimed port is free; claims of port 0 (any free
 * port) are skipped. A taken port is asked again until `graceMs` has passed
 * (a stack that was just killed may take a moment to let go of its ports),
 * then PortTakenError names each taken port and its variable.
 */
export async function checkPorts(claims: readonly PortClaim[], graceMs = 0): Promise<void> {
  const deadline = Date.now() + graceMs;
  let taken: PortClaim[];
  for (;;) {
    const wanted = claims.filter((c) => c.port !== 0);
    const answers = await Promise.all(wanted.map((c) => free(c.port)));
    taken = wanted.filter((_, i) => !answers[i]);
    if (taken.length === 0) return;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const lines = taken.map((c) => `port ${c.port} (${c.what}) is taken by another program: set ${c.variable} to a free port (0 picks one)`);
  throw new PortTakenError(lines.join('\n'));
}
