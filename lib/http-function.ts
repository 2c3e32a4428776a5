/**
 * The transport shell every function shares: one Functions Framework `http`
 * handler that serves CloudEvents (binary and structured, as a Knative
 * Broker delivers them) and the function's REST routes.
 *
 * Events: invalid → 400 (final for Knative); transient fault → 503 (retried);
 * a duplicate (source, id) → 2xx with the first delivery's reply and no
 * second effect; a reply event goes back in binary mode, an ack is empty.
 */
import type { Request, Response } from 'express';
import { CloudEvent, HTTP, ValidationError as CloudEventValidationError } from 'cloudevents';
import { readEvent, type EventName, type Incoming } from '../events/index.js';
import type { Db } from './db.js';
import {
  MethodNotAllowedError,
  NotFoundError,
  OrdersagaError,
  PayloadTooLargeError,
  TransientError,
  ValidationError,
} from './errors.js';
import { consumeOnce } from './inbox.js';
import type { Logger } from './log.js';
import { PROBLEM_CONTENT_TYPE, sendProblem, toProblem } from './problem.js';
import type { Tx } from './unit-of-work.js';

/** Requests larger than this are refused with 400 (SPEC §3). */
export const BODY_LIMIT_BYTES = 64 * 1024;

export interface RouteRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  body: unknown;
  header(name: string): string | undefined;
}

export interface RouteReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: 'GET' | 'POST';
  /** `/accounts/:id/deposits` style; a `:name` segment matches one path segment. */
  path: string;
  handle(req: RouteRequest): Promise<RouteReply>;
}

export type EventHandlers = { [N in EventName]?: (tx: Tx, event: Incoming<N>) => Promise<void> };

/** What the shell needs of a function's runtime. */
export interface ShellRuntime {
  /** The function's name; also its CloudEvent source `/ordersaga/<name>` and inbox consumer. */
  name: string;
  db: Db;
  log: Logger;
}

export interface FunctionSpec {
  routes?: Route[];
  /** Saga events this function consumes, each handled once per (source, id). */
  events?: EventHandlers;
  /** Events from outside the catalogue (e.g. a PingSource's), by CloudEvent type. */
  foreignEvents?: Record<string, (event: CloudEvent<unknown>) => Promise<void>>;
  /** Receives every valid CloudEvent, of any type, instead of the catalogue (the dead-letter sink). */
  anyEvent?: (event: CloudEvent<unknown>) => Promise<void>;
}

export type HttpFunction = (req: Request, res: Response) => Promise<void>;

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { ...route, pattern: new RegExp(`^${source}/?$`), names };
}

function isCloudEventRequest(req: Request): boolean {
  return req.header('ce-specversion') !== undefined || (req.header('content-type') ?? '').startsWith('application/cloudevents');
}

function rawBodyOf(req: Request): Buffer {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  return raw ?? Buffer.alloc(0);
}

/** Builds the Functions Framework handler for one function. */
export function createHttpFunction(rt: ShellRuntime, spec: FunctionSpec): HttpFunction {
  const routes = (spec.routes ?? []).map(compile);
  const handlers = spec.events ?? {};
  const accepted = Object.keys(handlers) as EventName[];

  async function handleEvent(req: Request, res: Response): Promise<void> {
    let event: CloudEvent<unknown>;
    try {
      const parsed = HTTP.toEvent({ headers: req.headers as Record<string, string>, body: rawBodyOf(req).toString('utf8') });
      if (Array.isArray(parsed)) throw new ValidationError('Batched CloudEvents are not accepted; send one event per request');
      event = parsed as CloudEvent<unknown>;
      event.validate();
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      const detail = err instanceof CloudEventValidationError ? `${err.message}: ${JSON.stringify(err.errors ?? [])}` : (err as Error).message;
      throw new ValidationError(`Not a valid CloudEvent: ${detail}`);
    }
    const foreign = spec.foreignEvents?.[event.type] ?? spec.anyEvent;
    if (foreign) {
      await foreign(event);
      res.status(204).end();
      return;
    }
    const incoming = readEvent(event, accepted);
    const handle = handlers[incoming.name] as (tx: Tx, e: Incoming) => Promise<void>;
    const consumed = await consumeOnce(rt.db, rt.name, incoming, (tx) => handle(tx, incoming));
    if (consumed.duplicate) {
      rt.log.info('duplicate delivery', { type: event.type, id: event.id, source: event.source });
    }
    if (consumed.reply === null) {
      res.status(204).end();
      return;
    }
    const message = HTTP.binary(consumed.reply);
    // Node's own setHeader: express's would add a charset to Content-Type,
    // which in binary mode is the event's datacontenttype.
    for (const [name, value] of Object.entries(message.headers)) res.setHeader(name, String(value));
    res.status(200).end(message.body as string);
  }

  async function handleRoute(req: Request, res: Response): Promise<void> {
    const path = req.path;
    if (req.method === 'GET' && path === '/healthz') {
      res.status(200).json({ status: 'ok' });
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      await rt.db.raw('select 1');
      res.status(200).json({ status: 'ready' });
      return;
    }
    const candidates = routes.filter((r) => r.pattern.test(path));
    if (candidates.length === 0) throw new NotFoundError(`No route for ${req.method} ${path}`);
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      res.setHeader('Allow', candidates.map((r) => r.method).join(', '));
      throw new MethodNotAllowedError(`${req.method} is not allowed on ${path}`);
    }
    const match = route.pattern.exec(path)!;
    const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(match[i + 1]!)]));
    const reply = await route.handle({
      method: req.method,
      path,
      params,
      body: route.method === 'POST' ? jsonBodyOf(req) : undefined,
      header: (name) => req.header(name),
    });
    if (reply.headers) res.set(reply.headers);
    if (reply.body === undefined) {
      res.status(reply.status).end();
      return;
    }
    const problem = reply.status >= 400 && (reply.body as { type?: unknown })?.type !== undefined;
    res
      .status(reply.status)
      .type(problem ? PROBLEM_CONTENT_TYPE : 'application/json')
      .send(JSON.stringify(reply.body));
  }

  return async (req, res) => {
    leaveFrameworkDomain();
    try {
      const length = Number(req.header('content-length') ?? rawBodyOf(req).length);
      if (length > BODY_LIMIT_BYTES || rawBodyOf(req).length > BODY_LIMIT_BYTES) {
        throw new PayloadTooLargeError(`The request body exceeds ${BODY_LIMIT_BYTES} bytes`);
      }
      if (req.method === 'POST' && isCloudEventRequest(req)) {
        await handleEvent(req, res).catch(finalUnlessTransient);
      } else {
        await handleRoute(req, res);
      }
    } catch (err) {
      const problem = toProblem(err, req.path);
      if (problem.status >= 500) {
        rt.log.error('request failed', { method: req.method, path: req.path, status: problem.status, error: String(err), stack: (err as Error)?.stack });
      }
      if (!res.headersSent) sendProblem(res, problem);
    }
  };
}

/**
 * The Functions Framework runs each request inside a Node `domain` so that
 * an uncaught throw becomes a 500. While a domain is entered, Node tags every
 * promise and callback the request creates with it, which the benchmark
 * shows costs about a quarter of a function's CPU. This handler catches its
 * own errors, so it leaves the domain at once; an exception nothing catches
 * is a bug, and the process exits (the supervisor or Knative restarts it and
 * the Broker redelivers what was in flight).
 */
function leaveFrameworkDomain(): void {
  (process as { domain?: { exit(): void } | null }).domain?.exit();
}

/**
 * For an event, a refusal is final: Knative retries 404 and 409, so a
 * business error must not reach the Broker as one of those. Anything that is
 * not transient becomes 400 (to the dead-letter sink); transient stays 5xx.
 */
function finalUnlessTransient(err: unknown): never {
  if (err instanceof OrdersagaError && !(err instanceof TransientError) && err.status !== 400) {
    throw new ValidationError(`Event refused: ${err.message}`);
  }
  throw err;
}

/** The parsed JSON body of a POST; anything else is a 400. */
function jsonBodyOf(req: Request): unknown {
  const raw = rawBodyOf(req);
  if (raw.length === 0) throw new ValidationError('A JSON request body is required');
  const type = req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new ValidationError(`Content-Type must be application/json, got ${type === '' ? 'none' : type}`);
  }
  // The framework has parsed it already; parse again only if it left a string or buffer.
  if (req.body !== undefined && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) return req.body;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ValidationError('The request body is not valid JSON');
  }
}
