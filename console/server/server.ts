/**
 * The console's HTTP handler (node:http): the page's files, and the JSON API
 * the page speaks, all under one base path. Every API route but signing in
 * needs the session; every route that changes something (sign-in, sign-out,
 * replay, send) must come from the console's own page (Origin, and the
 * session's CSRF token).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MethodNotAllowedError, NotFoundError, OrdersagaError, TransientError, ValidationError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { SagaMap, SessionInfo } from './api-types.js';
import type { DeadLetterSource } from './dead-letters.js';
import type { LiveFeed } from './feed.js';
import { readJson, sendError, sendJson, setSecurityHeaders } from './http.js';
import type { OrderSource } from './orders.js';
import { sagaMapOf } from './saga-map.js';
import type { EventSender } from './send.js';
import { ForbiddenError, createSessions, ownOrigin, type Session, type SessionOptions, type Sessions } from './session.js';
import { createFeedStreams, type StreamOptions } from './sse.js';
import { sendAsset, type Assets } from './static.js';
import type { TraceSource } from './traces.js';

export interface ConsoleOptions {
  /** `local`: fed by the stand-in's Broker observer; `cluster`: by a catch-all Trigger. */
  mode: 'local' | 'cluster';
  /** Where the console is served: `''` at the root, `/console` behind the cluster's Ingress. */
  basePath: string;
  adminToken: string;
  feed: LiveFeed;
  orders: OrderSource;
  deadLetters: DeadLetterSource;
  sender: EventSender;
  traces: TraceSource;
  assets: Assets;
  log: Logger;
  /** Host headers served; others are refused (a DNS-rebinding page cannot reach a console on loopback). Any when unset. */
  allowedHosts?: readonly string[];
  sagaMap?: SagaMap;
  sessions?: Omit<SessionOptions, 'adminToken' | 'path'>;
  streams?: StreamOptions;
}

export interface ConsoleApp {
  /** Serves one request under the base path; `false` when the path is not the console's. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Ends every live stream. */
  close(): void;
}

/** A route of the API: a method, a path pattern relative to `/api`, and whether it changes something. */
interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  /** Changing routes need the Origin and CSRF checks. */
  writes?: boolean;
  /** Served without a session (signing in). */
  open?: boolean;
  run(ctx: { req: IncomingMessage; res: ServerResponse; params: string[]; session: Session | undefined }): Promise<void> | void;
}

const ORDER_LIST_MAX = 200;

export function createConsole(options: ConsoleOptions): ConsoleApp {
  const base = options.basePath.replace(/\/+$/, '');
  const sessions: Sessions = createSessions({ ...options.sessions, adminToken: options.adminToken, path: base === '' ? '/' : `${base}/` });
  const streams = createFeedStreams(options.feed, options.streams);
  sessions.onEnd((session) => streams.closeOwner(session.id));
  const sagaMap = options.sagaMap ?? sagaMapOf();
  const secure = (req: IncomingMessage) => ownOrigin(req).startsWith('https:');

  const info = (session: Session): SessionInfo => ({
    csrfToken: session.csrfToken,
    mode: options.mode,
    deliveries: options.mode === 'local',
    feed: options.feed.limits,
  });

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/session$/, run: ({ res, session }) => sendJson(res, 200, info(session!)) },
    {
      method: 'POST',
      pattern: /^\/session$/,
      open: true,
      async run({ req, res }) {
        // A sign-in form on another site must not sign the browser in here either.
        if (req.headers.origin !== ownOrigin(req)) throw new ForbiddenError(`Cross-origin sign-in refused (Origin ${req.headers.origin ?? 'missing'})`);
        const body = await readJson(req);
        const session = sessions.signIn((body as { token?: unknown } | null)?.token);
        res.setHeader('Set-Cookie', sessions.cookie(session, secure(req)));
        sendJson(res, 200, info(session));
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/session$/,
      writes: true,
      run({ req, res, session }) {
        sessions.signOut(session!);
        res.setHeader('Set-Cookie', sessions.cookie(undefined, secure(req)));
        res.statusCode = 204;
        res.end();
      },
    },
    { method: 'GET', pattern: /^\/stream$/, run: ({ req, res, session }) => streams.serve(req, res, session!.id) },
    { method: 'GET', pattern: /^\/saga-map$/, run: ({ res }) => sendJson(res, 200, sagaMap) },
    {
      method: 'GET',
      pattern: /^\/orders$/,
      async run({ req, res }) {
        const raw = new URL(req.url ?? '/', 'http://console').searchParams.get('limit') ?? '50';
        const limit = Number(raw);
        if (!Number.isInteger(limit) || limit < 1 || limit > ORDER_LIST_MAX) throw new ValidationError(`limit must be an integer from 1 to ${ORDER_LIST_MAX}`);
        sendJson(res, 200, await options.orders.recent(limit));
      },
    },
    {
      method: 'GET',
      pattern: /^\/orders\/([^/]+)$/,
      async run({ res, params }) {
        const found = await options.orders.get(params[0]!);
        if (!found) throw new NotFoundError(`No order ${params[0]}`);
        const attempts = options.feed.attemptsOf(new Set(found.events.map((e) => e.id)));
        sendJson(res, 200, { ...found, attempts, sagaMap });
      },
    },
    {
      method: 'GET',
      pattern: /^\/orders\/([^/]+)\/trace$/,
      async run({ res, params }) {
        const trace = await options.traces.orderTrace(params[0]!);
        if (!trace) throw new NotFoundError(noTrace(`order ${params[0]}`));
        sendJson(res, 200, trace);
      },
    },
    {
      method: 'GET',
      pattern: /^\/traces\/([^/]+)$/,
      async run({ res, params }) {
        const trace = await options.traces.trace(params[0]!);
        if (!trace) throw new NotFoundError(noTrace(`trace ${params[0]}`));
        sendJson(res, 200, trace);
      },
    },
    { method: 'GET', pattern: /^\/dead-letters$/, run: async ({ res }) => sendJson(res, 200, await options.deadLetters.list()) },
    {
      method: 'POST',
      pattern: /^\/dead-letters\/([^/]+)\/replay$/,
      writes: true,
      async run({ res, params }) {
        await options.deadLetters.replay(Number(params[0]));
        sendJson(res, 202, { id: Number(params[0]), replayed: true });
      },
    },
    { method: 'POST', pattern: /^\/send$/, writes: true, run: async ({ req, res }) => sendJson(res, 202, await options.sender.send(await readJson(req))) },
  ];

  function noTrace(what: string): string {
    return options.traces.available ? `No trace was recorded for ${what}` : `No trace was recorded for ${what}: there is no trace store yet`;
  }

  async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const matching = routes.filter((r) => r.pattern.test(path));
    if (matching.length === 0) throw new NotFoundError(`No console route ${req.method} /api${path}`);
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      res.setHeader('Allow', matching.map((r) => r.method).join(', '));
      throw new MethodNotAllowedError(`${req.method} is not allowed on /api${path}`);
    }
    const session = route.open ? undefined : sessions.require(req);
    if (route.writes) sessions.checkWrite(req, session!);
    const params = route.pattern.exec(path)!.slice(1).map((p) => decodeURIComponent(p));
    await route.run({ req, res, params, session });
  }

  function page(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new MethodNotAllowedError(`${req.method} is not allowed on ${path}`);
    if (!options.assets.built) throw new TransientError("The console's page is not built: run `npm run build`");
    const asset = options.assets.get(path);
    if (!asset) throw new NotFoundError(`No file ${path}`);
    sendAsset(req, res, asset);
  }

  return {
    async handle(req, res) {
      const pathname = (req.url ?? '/').split('?')[0]!;
      if (base !== '' && pathname !== base && !pathname.startsWith(`${base}/`)) return false;
      setSecurityHeaders(res);
      try {
        if (options.allowedHosts && !options.allowedHosts.includes(req.headers.host ?? '')) {
          throw new ForbiddenError(`Host ${req.headers.host ?? '(none)'} is not served here`);
        }
        // The page's links are relative: it must be at `<base>/`, with the slash.
        if (pathname === base) {
          res.writeHead(308, { Location: `${base}/` }).end();
          return true;
        }
        const path = pathname.slice(base.length);
        if (path === '/api' || path.startsWith('/api/')) await api(req, res, path.slice('/api'.length));
        else page(req, res, path);
      } catch (err) {
        if (!(err instanceof OrdersagaError) || err.status >= 500) {
          options.log.warn('console request failed', { method: req.method, path: pathname, error: String(err) });
        }
        sendError(res, err, pathname);
      }
      return true;
    },
    close: () => streams.closeAll(),
  };
}
