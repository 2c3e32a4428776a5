/**
 * What a function is: a definition that names the events it consumes (and
 * what each may emit), the Knative sources it listens to, its REST routes
 * and its configuration. `functions/registry.ts` lists the definitions; the
 * Functions Framework entry, the Trigger check, the saga diagram and the
 * table-driven tests all derive from that list.
 */
import type { CloudEvent } from 'cloudevents';
import type { EventName, Incoming } from '../events/index.js';
import type { Option } from './config.js';
import type { Logger } from './log.js';
import type { Consumed } from './messaging.js';
import type { Publisher } from './publisher.js';
import type { Queries, Sql } from './pg.js';
import type { Tokens } from './auth.js';
import type { SenderAuth } from './oidc.js';

/** The dependencies every function is built on. */
export interface Runtime {
  /** The function's name; also its CloudEvent source `/ordersaga/<name>` and inbox consumer. */
  name: string;
  sql: Sql;
  log: Logger;
  tokens: Tokens;
  /** Knative's sender authentication: who may deliver events, and this function's token for K_SINK. */
  senderAuth: SenderAuth;
  publisher: Publisher;
}

/** What a handler gets: the runtime and the function's own dependencies. */
export interface Context<D> {
  rt: Runtime;
  deps: D;
}

/** One delivery of a saga event, with its once-only step runner. */
export interface Delivery<N extends EventName> {
  event: Incoming<N>;
  /**
   * Runs step routine `step` with `input`, at most once for this delivery
   * (SPEC §4); inside the transaction `on` when given.
   */
  consume(step: string, input: unknown, on?: Queries): Promise<Consumed>;
}

/** How a function reacts to one event type. */
export interface Consumer<N extends EventName, D> {
  /** Every event this handler may produce. */
  emits: readonly EventName[];
  /** It undoes an earlier step (the saga's compensation). */
  compensation?: boolean;
  /** With `compensation`: the event of the step it undoes (`slot.reserved`). */
  undoes?: EventName;
  /** It may produce several events at once, which go to K_SINK rather than as the reply. */
  fanOut?: boolean;
  /** One line for the saga map. */
  describe: string;
  handle(delivery: Delivery<N>, ctx: Context<D>): Promise<Consumed>;
}

export type Consumes<D> = { [N in EventName]?: Consumer<N, D> };

/** A request, as route handlers see it (no express below the shell). */
export interface RouteRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  header(name: string): string | undefined;
}

export interface RouteReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route<D> {
  method: 'GET' | 'POST';
  /** `/accounts/:id/deposits` style; a `:name` segment matches one path segment. */
  path: string;
  /** Events a request may produce (published to K_SINK). */
  emits?: readonly EventName[];
  /** The query parameters the route reads; any other is a 400. Without it, the query is not read. */
  query?: readonly string[];
  handle(req: RouteRequest, ctx: Context<D>): Promise<RouteReply>;
}

/** A Knative source's events (a PingSource's tick), outside the catalogue. */
export interface SourceHandler<D> {
  /** The Knative resource that sends it, for the saga map (`PingSource/reconciler`). */
  from: string;
  emits: readonly EventName[];
  describe: string;
  handle(event: CloudEvent<unknown>, ctx: Context<D>): Promise<void>;
}

export type OptionSpec = Record<string, Option<unknown>>;
export type ConfigOf<S extends OptionSpec> = { [K in keyof S]: S[K] extends Option<infer T> ? T : never };

export interface FunctionDefinition<S extends OptionSpec = OptionSpec, D = unknown> {
  /** Knative Service name, Functions Framework target and CloudEvent source `/ordersaga/<name>`. */
  name: string;
  /** What the function owns, in a sentence. */
  role: string;
  options: S;
  /** Builds the function's own dependencies (a mailer, a waiter) once per process. */
  setup(rt: Runtime, config: ConfigOf<S>): D | Promise<D>;
  consumes: Consumes<D>;
  sources: Record<string, SourceHandler<D>>;
  /** Receives every valid CloudEvent of any type instead of the catalogue (the dead-letter sink). */
  sink?: (event: CloudEvent<unknown>, ctx: Context<D>) => Promise<void>;
  routes: Route<D>[];
  /** SQL routines (create or replace) applied after the migrations. */
  routines: readonly string[];
  /** Every event the function may produce: the union of its handlers' and routes'. */
  emits: readonly EventName[];
  /**
   * It publishes to K_SINK (so a SinkBinding must give it one): a route or a
   * source that produces events, a fan-out consumer, a relay, or
   * `publishes: true`.
   */
  publishes: boolean;
  /**
   * It sends events of any type, not only its own: the reconciler's outbox
   * sweep, a dead letter's replay. Sender authentication admits it for every
   * type; every other function only for the types it emits.
   */
  relays: boolean;
  /** Releases what `setup` built. */
  teardown?(deps: D): Promise<void>;
}

// The dependencies' type comes from `setup` alone; handlers are checked against it.
type DefinitionInput<S extends OptionSpec, D> = Omit<FunctionDefinition<S, D>, 'emits' | 'publishes' | 'relays' | 'sources' | 'routes' | 'consumes' | 'routines' | 'sink'> & {
  publishes?: true;
  relays?: true;
  consumes?: Consumes<NoInfer<D>>;
  sources?: Record<string, SourceHandler<NoInfer<D>>>;
  routes?: Route<NoInfer<D>>[];
  sink?: (event: CloudEvent<unknown>, ctx: Context<NoInfer<D>>) => Promise<void>;
  routines?: readonly string[];
};

/** A function definition, with what it emits derived from its handlers. */
export function defineFunction<S extends OptionSpec, D>(input: DefinitionInput<S, D>): FunctionDefinition<S, D> {
  const consumes = input.consumes ?? {};
  const sources = input.sources ?? {};
  const routes = input.routes ?? [];
  const emits = new Set<EventName>();
  for (const consumer of Object.values(consumes) as Consumer<EventName, D>[]) consumer.emits.forEach((e) => emits.add(e));
  for (const source of Object.values(sources)) source.emits.forEach((e) => emits.add(e));
  for (const route of routes) route.emits?.forEach((e) => emits.add(e));
  const relays = input.relays === true;
  const publishes =
    relays ||
    input.publishes === true ||
    routes.some((r) => (r.emits ?? []).length > 0) ||
    Object.values(sources).some((source) => source.emits.length > 0) ||
    (Object.values(consumes) as Consumer<EventName, D>[]).some((consumer) => consumer.fanOut === true);
  return { ...input, consumes, sources, routes, routines: input.routines ?? [], emits: [...emits].sort(), publishes, relays };
}

/** A consumer whose work is one step routine over the event's data (or `input` of it). */
export function step<N extends EventName>(
  routine: string,
  emits: readonly EventName[],
  describe: string,
  options: { compensation?: boolean; undoes?: EventName; fanOut?: boolean } = {},
): Consumer<N, unknown> {
  return { emits, describe, ...options, handle: (delivery) => delivery.consume(routine, delivery.event.data) };
}
