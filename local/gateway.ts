/**
 * The API gateway: what the Ingress for `arch.homework` does in a cluster.
 * Routes each request by the Ingress paths in the manifests (longest regex
 * first, as nginx does) to the Service's process, streaming both ways.
 */
import http from 'node:http';
import type { Logger } from '../lib/log.js';
import { sendProblem } from '../lib/problem.js';
import type { IngressRoute } from './manifests.js';

export interface GatewayOptions {
  routes: readonly IngressRoute[];
  /** The local port of a Service's process. */
  portOf(service: string): number;
  log: Logger;
}

/** Longer than the longest `Prefer: wait` (30 s). */
const UPSTREAM_TIMEOUT_MS = 35_000;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface Gateway extends http.Server {
  /**
   * Stops taking requests: new connections are refused, and a request that
   * still arrives on a kept-alive one gets 503 (retry later). Answers in
   * flight (a held `Prefer: wait`) get `graceMs`, then are cut. Every answer
   * from now on closes its connection.
   */
  shutDown(graceMs: number): Promise<void>;
}

function problem(res: http.ServerResponse, status: number, title: string, detail: string, instance: string): void {
  if (res.headersSent) return void res.destroy();
  sendProblem(res, { type: 'about:blank', title, status, detail, instance });
}

export function createGateway({ routes, portOf, log }: GatewayOptions): Gateway {
  let closing = false;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (closing) {
      res.shouldKeepAlive = false;
      return problem(res, 503, 'Service Unavailable', 'ordersaga is stopping; retry shortly', path);
    }
    const route = routes.find((r) => r.pattern.test(path));
    if (!route) return problem(res, 404, 'Not Found', `No route for ${req.method} ${path}`, path);
    const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '', 'x-forwarded-host': req.headers.host ?? '' };
    const upstream = http.request(
      { host: '127.0.0.1', port: portOf(route.service), method: req.method, path: req.url, headers, agent, timeout: UPSTREAM_TIMEOUT_MS },
      (answer) => {
        // Hop-by-hop headers are of the upstream connection, not the client's (RFC 9110 §7.6.1).
        const { connection: _connection, 'keep-alive': _keepAlive, ...headers } = answer.headers;
        if (closing) res.shouldKeepAlive = false;
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', (err) => {
      log.warn('gateway upstream failed', { service: route.service, path, error: err.message });
      problem(res, 503, 'Service Unavailable', `${route.service} is not answering; retry shortly`, path);
    });
    req.pipe(upstream);
  });
  return Object.assign(server, {
    async shutDown(graceMs: number) {
      closing = true;
      server.closeIdleConnections();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const cut = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(cut);
    },
  });
}
