/**
 * The console as the local stand-in runs it: in the stand-in's own
 * process, on 127.0.0.1, fed by the Broker's observer, reading orders from
 * the stack's database and dead letters through its gateway.
 */
import http from 'node:http';
import type { Logger } from '../../lib/log.js';
import { createDeadLetterSource } from './dead-letters.js';
import type { LiveFeed } from './feed.js';
import { createOrderSource } from './orders.js';
import { sagaMapOf } from './saga-map.js';
import { createEventSender } from './send.js';
import { createConsole, type ConsoleApp } from './server.js';
import { loadAssets } from './static.js';
import { NO_TRACES, type TraceSource } from './traces.js';

export interface LocalConsoleOptions {
  /** The feed whose observer every Broker of the stack reports to. */
  feed: LiveFeed;
  /** 0 picks a free port. */
  port: number;
  databaseUrl: string;
  gatewayUrl: string;
  brokerUrl: string;
  /** The console's `Authorization` for the Broker, when sender authentication is on. */
  brokerAuthorization?: () => Promise<string>;
  adminToken: string;
  /** The built page (`dist/console`). */
  assetsDir: string;
  log: Logger;
  traces?: TraceSource;
}

export interface ServedConsole {
  url: string;
  close(): Promise<void>;
}

export async function serveLocalConsole(options: LocalConsoleOptions): Promise<ServedConsole> {
  const sagaMap = sagaMapOf();
  const orders = createOrderSource({ databaseUrl: options.databaseUrl, consumers: sagaMap.functions.map((f) => f.name) });
  let app: ConsoleApp | undefined;
  const server = http.createServer((req, res) => {
    if (!app) {
      res.writeHead(503, { 'Retry-After': '1' }).end();
      return;
    }
    void app.handle(req, res);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  app = createConsole({
    mode: 'local',
    basePath: '',
    adminToken: options.adminToken,
    feed: options.feed,
    orders,
    deadLetters: createDeadLetterSource({ baseUrl: options.gatewayUrl, adminToken: options.adminToken }),
    sender: createEventSender({ brokerUrl: options.brokerUrl, authorization: options.brokerAuthorization }),
    traces: options.traces ?? NO_TRACES,
    assets: loadAssets(options.assetsDir),
    log: options.log,
    sagaMap,
    // Only the loopback names: a page elsewhere that rebinds its own name to 127.0.0.1 is refused.
    allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`],
  });
  const served = app;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      served.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await orders.close();
    },
  };
}
