/**
 * What each function is, in one place: the events it consumes and emits, and
 * whether it serves HTTP routes (and so emits to K_SINK). The Knative
 * manifests are checked against this table.
 */
import type { EventName } from '../events/index.js';

export interface FunctionInfo {
  /** Knative Service name, Functions Framework target and CloudEvent source `/ordersaga/<name>`. */
  name: string;
  consumes: readonly EventName[];
  emits: readonly EventName[];
  /** Serves REST routes, so emits through the outbox to K_SINK (given by a SinkBinding). */
  httpFacing: boolean;
}

export const FUNCTIONS = [
  { name: 'create-account', consumes: ['account.requested'], emits: ['account.created'], httpFacing: true },
  {
    name: 'deposit',
    consumes: ['deposit.requested'],
    emits: ['account.deposited', 'account.withdrawn'],
    httpFacing: true,
  },
  {
    name: 'place-order',
    consumes: ['order.requested', 'payment.charged', 'slot.rejected', 'slot.released'],
    emits: ['order.placed', 'order.confirmed', 'order.cancelled'],
    httpFacing: true,
  },
  { name: 'charge', consumes: ['slot.reserved'], emits: ['payment.charged', 'payment.declined'], httpFacing: false },
  {
    name: 'reserve-slot',
    consumes: ['order.placed', 'payment.declined'],
    emits: ['slot.created', 'slot.reserved', 'slot.rejected', 'slot.released'],
    httpFacing: true,
  },
  { name: 'notify', consumes: ['order.confirmed', 'order.cancelled'], emits: ['notification.sent'], httpFacing: true },
] as const satisfies readonly FunctionInfo[];

/** The step functions' names. */
export type FunctionName = (typeof FUNCTIONS)[number]['name'];

/** Facts no function subscribes to: they end a flow and are there for observers. */
export const TERMINAL_EVENTS: readonly EventName[] = [
  'account.created',
  'account.deposited',
  'account.withdrawn',
  'slot.created',
  'notification.sent',
];

/** The saga's edges (SPEC §2): each needs a Trigger that routes `event` to `subscriber`. */
export const SAGA_EDGES: readonly { event: EventName; subscriber: FunctionName }[] = FUNCTIONS.flatMap((fn) =>
  fn.consumes.map((event) => ({ event, subscriber: fn.name })),
);
