/**
 * The console as a Knative Service (Functions Framework `http` signature,
 * from the one image). A catch-all Trigger delivers every event of the
 * Broker to `/`, and the console keeps them in its bounded feed; the page
 * and its API are served under the Ingress path (`/console`). Delivery
 * outcomes are the Broker's own business in a cluster and are not visible
 * here: the page says so.
 */
import { opt, readConfig } from '../../lib/config.js';
import { NotFoundError, ValidationError } from '../../lib/errors.js';
import type { HttpFunction } from '../../lib/http-function.js';
import { createLogger } from '../../lib/log.js';
import { createSenderAuth, oidcOptions } from '../../lib/oidc.js';
import { contentModeOf, decodeMessage, EventFormatError } from '../../local/broker/events.js';
import { createDeadLetterSource } from './dead-letters.js';
import { createLiveFeed } from './feed.js';
import { readBody, sendError, sendJson } from './http.js';
import { createOrderSource } from './orders.js';
import { sagaMapOf } from './saga-map.js';
import { createEventSender } from './send.js';
import { createConsole } from './server.js';
import { loadAssets } from './static.js';
import { httpTraceSource, NO_TRACES } from './traces.js';

/** Events larger than this are refused (the Broker's own events are a few hundred bytes). */
const EVENT_BODY_LIMIT = 1024 * 1024;

export const options = {
  adminToken: opt.secret('ADMIN_TOKEN', 'the token that signs in to the console', 16),
  databaseUrl: opt.url('DATABASE_URL', 'PostgreSQL connection URL (read only)'),
  poolMax: opt.int('DB_POOL_MAX', 'database connections per instance', 2, 1, 200),
  sink: opt.optionalUrl('K_SINK', 'the Broker the send form posts to, injected by a SinkBinding'),
  deadLettersUrl: opt.url('DEAD_LETTERS_URL', 'where the dead-letters admin API is served', 'http://dead-letters.ordersaga.svc.cluster.local'),
  tracesUrl: opt.optionalUrl('TRACES_URL', 'the trace store serving /traces/{id} and /orders/{id}/trace'),
  basePath: {
    env: 'CONSOLE_BASE_PATH',
    describe: 'the path the Ingress serves the console under',
    default: '/console',
    parse(raw: string) {
      if (!/^(\/[\w.-]+)+$/.test(raw)) throw new Error('must be a path like /console, without a trailing slash');
      return raw;
    },
  },
  assetsDir: opt.string('CONSOLE_ASSETS_DIR', "the built page (Vite's output)", 'dist/console'),
  ...oidcOptions,
};

export function fromEnv(env: NodeJS.ProcessEnv = process.env): HttpFunction {
  const config = readConfig(options, env);
  const log = createLogger('console');
  const senderAuth = createSenderAuth(config, { log, sink: config.sink });
  const feed = createLiveFeed();
  const sagaMap = sagaMapOf();
  const orders = createOrderSource({ databaseUrl: config.databaseUrl, consumers: sagaMap.functions.map((f) => f.name), poolMax: config.poolMax });
  const app = createConsole({
    mode: 'cluster',
    basePath: config.basePath,
    adminToken: config.adminToken,
    feed,
    orders,
    deadLetters: createDeadLetterSource({ baseUrl: config.deadLettersUrl, adminToken: config.adminToken }),
    sender: createEventSender({ brokerUrl: config.sink, authorization: senderAuth.sinkAuthorization }),
    traces: config.tracesUrl === undefined ? NO_TRACES : httpTraceSource(config.tracesUrl),
    assets: loadAssets(config.assetsDir),
    log,
    sagaMap,
  });

  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (req.method === 'GET' && path === '/readyz') {
        await orders.ready();
        return sendJson(res, 200, { status: 'ready' });
      }
      // The Trigger delivers to the root, which the Ingress never routes to.
      if (req.method === 'POST' && path === '/' && contentModeOf(req.headers) !== 'none') {
        await senderAuth.verify(req.headers.authorization);
        try {
          feed.received(decodeMessage(req.headers, await readBody(req, EVENT_BODY_LIMIT)));
        } catch (err) {
          throw err instanceof EventFormatError ? new ValidationError(err.message) : err;
        }
        res.status(202).end();
        return;
      }
      if (!(await app.handle(req, res))) throw new NotFoundError(`No route ${req.method} ${path}`);
    } catch (err) {
      sendError(res, err, path ?? '/');
    }
  };
}
