/**
 * The transport shell every function shares: one Functions Framework `http`
 * handler that serves a definition's CloudEvents (binary and structured, as
 * a Knative Broker delivers them) and its REST routes.
 *
 * Events: invalid → 400 (final for Knative); transient fault → 503 (retried);
 * a duplicate (source, id) → 2xx with the first delivery's reply and no
 * second effect; one produced event is the reply (binary mode), several are
 * published to K_SINK, none is an empty ack.
 */
import type { Request, Response } from 'express';
import { readEvent, validateData, nameOf, type EventName } from '../events/index.js';
import { binaryMessage, isCloudEventRequest, readCloudEvent } from './cloudevents.js';
import { fromDatabaseError, MethodNotAllowedError, NotFoundError, OrdersagaError, TransientError, ValidationError } from './errors.js';
import type { Consumer, Context, FunctionDefinition, Route, RouteReply } from './function.js';
import { newId } from './ids.js';
import { consume, type Consumed } from './messaging.js';
import type { Queries } from './pg.js';
import { extensionOf, processing, producing } from './tracing/events.js';
import { PROBLEM_CONTENT_TYPE, sendProblem, toProblem } from './problem.js';

/** Requests larger than this are refused with 400 (SPEC §3). */
export const BODY_LIMIT_BYTES = 64 * 1024;

export type HttpFunction = (req: Request, res: Response) => Promise<void>;

interface CompiledRoute<D> extends Route<D> {
  pattern: RegExp;
  names: string[];
}

function compile<D>(route: Route<D>): CompiledRoute<D> {
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

function rawBodyOf(req: Request): Buffer {
  return (req as Request & { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
}

/** The events a delivery produced now (a duplicate's reply was produced before). */
const producedBy = (consumed: Consumed) => (consumed.duplicate ? [] : consumed.events);

/** Builds the Functions Framework handler of `def` over its runtime and dependencies. */
export function createHttpFunction<D>(def: FunctionDefinition<never, D> | FunctionDefinition<any, D>, ctx: Context<D>): HttpFunction {
  const { rt } = ctx;
  const routes = def.routes.map(compile);
  const accepted = Object.keys(def.consumes) as EventName[];

  async function handleEvent(req: Request, res: Response): Promise<void> {
    const event = readCloudEvent(req);
    const source = def.sources[event.type];
    if (source || def.sink) {
      await processing(event, () => (source ? source.handle(event, ctx) : def.sink!(event, ctx)));
      res.status(204).end();
      return;
    }
    const incoming = readEvent(event, accepted);
    const consumer = def.consumes[incoming.name] as Consumer<EventName, D>;
    const replyId = newId();
    const trace = extensionOf(event);
    const run = (step: string, input: unknown, on?: Queries) => consume(on ?? rt.sql, rt.name, incoming, replyId, step, input, trace);
    const consumed = await processing(event, () =>
      consumer.handle({ event: incoming, consume: (step, input, on) => producing(trace, () => run(step, input, on), producedBy) }, ctx),
    );
    checkProduced(consumer.emits, consumed);
    if (consumed.duplicate) rt.log.info('duplicate delivery', { type: event.type, id: event.id, source: event.source });
    if (consumed.events.length === 1 && (consumed.duplicate || consumed.events[0]!.id === replyId)) {
      const message = binaryMessage(consumed.events[0]!);
      // Node's own setHeader: express's would add a charset to Content-Type,
      // which in binary mode is the event's datacontenttype.
      for (const [name, value] of Object.entries(message.headers)) res.setHeader(name, value);
      res.status(200).end(message.body);
      return;
    }
    if (!consumed.duplicate) await rt.publisher.publish(consumed.events);
    res.status(204).end();
  }

  /**
   * Every event leaves the function validated against its schema, and only
   * of a type its handler declares: the saga map cannot drift from the code.
   */
  function checkProduced(declared: readonly EventName[], consumed: Consumed): void {
    for (const produced of consumed.events) {
      const name = nameOf(produced.type);
      if (name === undefined || !declared.includes(name)) {
        throw new Error(`${rt.name} produced ${produced.type}, which its handler does not declare (it declares ${declared.join(', ') || 'nothing'})`);
      }
      validateData(name, produced.data);
    }
  }

  async function handleRoute(req: Request, res: Response): Promise<void> {
    const path = req.path;
    if (req.method === 'GET' && path === '/healthz') {
      res.status(200).json({ status: 'ok' });
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      await rt.sql.query('select 1');
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
    let body: { value: unknown } | undefined;
    const reply: RouteReply = await route.handle(
      {
        method: req.method,
        path,
        params,
        query: queryOf(req, route.query ?? []),
        // Read when a route asks for it: a route that takes no body ignores one.
        get body() {
          body ??= { value: route.method === 'POST' ? jsonBodyOf(req) : undefined };
          return body.value;
        },
        header: (name) => req.header(name),
      },
      ctx,
    );
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
    try {
      const length = Number(req.header('content-length') ?? rawBodyOf(req).length);
      if (length > BODY_LIMIT_BYTES || rawBodyOf(req).length > BODY_LIMIT_BYTES) {
        // SPEC §3 answers an oversized body 400, like any other bad input.
        throw new ValidationError(`The request body exceeds ${BODY_LIMIT_BYTES} bytes`);
      }
      if (req.method === 'POST' && isCloudEventRequest(req)) {
        // Who sent it, before anything of it is read: 401 otherwise (final for Knative).
        await rt.senderAuth.verify(req.header('authorization'));
        await handleEvent(req, res).catch(finalUnlessTransient);
      } else {
        await handleRoute(req, res).catch((err: unknown) => {
          throw fromDatabaseError(err);
        });
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
 * For an event, a refusal is final: Knative retries 404 and 409, so a
 * business error must not reach the Broker as one of those. Anything that is
 * not transient becomes 400 (to the dead-letter sink); transient stays 5xx.
 */
function finalUnlessTransient(thrown: unknown): never {
  const err = fromDatabaseError(thrown);
  if (err instanceof OrdersagaError && !(err instanceof TransientError) && err.status !== 400) {
    throw new ValidationError(`Event refused: ${err.message}`);
  }
  throw err;
}

/**
 * The query parameters a route reads, each given once: a repeated one
 * (`?a=1&a=2`) or one the route does not read (`?a[]=1`) is a 400, not a
 * filter silently dropped.
 */
function queryOf(req: Request, accepted: readonly string[]): Record<string, string> {
  const query: Record<string, string> = {};
  if (accepted.length === 0) return query;
  for (const [name, value] of Object.entries(req.query)) {
    if (!accepted.includes(name)) throw new ValidationError(`Unknown query parameter ${name}; this route reads ${accepted.join(', ')}`);
    if (typeof value !== 'string') throw new ValidationError(`The query parameter ${name} must be given once, as a plain value`);
    query[name] = value;
  }
  return query;
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
