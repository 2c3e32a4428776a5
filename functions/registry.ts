/**
 * The saga, in one place: every function's definition. Each names the
 * events it consumes and, for each, what it may emit; the Knative sources it
 * listens to; its REST routes. The Functions Framework entry
 * (functions/index.ts), the check that the Triggers match (both ways), the
 * saga diagram in the README, the server-side routines and the table-driven
 * tests are all derived from this list.
 *
 * Reading the saga: `order.requested` → place-order → `order.placed` →
 * reserve-slot → `slot.reserved` → charge → `payment.charged` → place-order
 * → `order.confirmed` → notify. Short of funds, charge declines (or, when
 * the order may wait, holds it until a deposit, its deadline or its owner
 * ends the wait); a declined payment is compensated by reserve-slot
 * releasing the seats, and place-order cancels the order.
 */
import type { FunctionDefinition } from '../lib/function.js';
import type { EventName } from '../events/index.js';
import accounts from './accounts/index.js';
import charge from './charge/index.js';
import deadLetters from './dead-letters/index.js';
import deposit from './deposit/index.js';
import notify from './notify/index.js';
import placeOrder from './place-order/index.js';
import reserveSlot from './reserve-slot/index.js';

// Each definition has its own options and dependencies; the list holds them alike.
type AnyDefinition = FunctionDefinition<any, any>;

/** The six saga functions. */
export const SAGA_FUNCTIONS: readonly AnyDefinition[] = [accounts, deposit, placeOrder, reserveSlot, charge, notify];

/** Every Functions Framework target: the saga functions and the dead-letter sink. */
export const FUNCTIONS: readonly AnyDefinition[] = [...SAGA_FUNCTIONS, deadLetters];

/**
 * Knative Services that watch the saga without taking part in it: a
 * catch-all Trigger (labelled `ordersaga.dev/observer`) gives them every
 * event. They are Functions Framework targets of the same image, deployed
 * by the overlays (the local stand-in serves the console itself).
 */
export const OBSERVERS = [{ name: 'console', publishes: true, relays: true, load: async () => (await import('../console/server/function.js')).fromEnv }] as const;

/** The definition named `name`. */
export function definitionOf(name: string): AnyDefinition {
  const found = FUNCTIONS.find((fn) => fn.name === name);
  if (!found) throw new Error(`no function ${name}; the functions are ${FUNCTIONS.map((fn) => fn.name).join(', ')}`);
  return found;
}

/** A saga edge: `event` is delivered to `subscriber` (each needs a Trigger). */
export interface SagaEdge {
  event: EventName;
  subscriber: string;
  emits: readonly EventName[];
  compensation: boolean;
  describe: string;
}

export const SAGA_EDGES: readonly SagaEdge[] = SAGA_FUNCTIONS.flatMap((fn) =>
  Object.entries(fn.consumes).map(([event, consumer]) => ({
    event: event as EventName,
    subscriber: fn.name,
    emits: consumer!.emits,
    compensation: consumer!.compensation === true,
    describe: consumer!.describe,
  })),
);

/** Events no saga function consumes: they end a flow and are there for observers. */
export const TERMINAL_EVENTS: readonly EventName[] = [...new Set(FUNCTIONS.flatMap((fn) => fn.emits))]
  .filter((event) => !SAGA_EDGES.some((edge) => edge.event === event))
  .sort();
