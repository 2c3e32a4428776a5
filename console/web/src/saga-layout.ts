/**
 * An order's saga laid out for its view: a lane per function, from the saga
 * map, and each event in its producer's lane, in the order it happened,
 * with who took it, its delivery attempts, and compensation marked.
 */
import type { DeliveryItem, OrderView, SagaEvent } from '../../server/api-types.js';

/** The lane of events from outside the saga's functions (a client, the console, `kn`). */
export const OUTSIDE = 'outside';

export interface PlacedEvent {
  event: SagaEvent;
  lane: string;
  column: number;
  /** The step this event undoes, when it is a compensation. */
  compensates: string | undefined;
  /** The functions that took it, or, while none has, those the saga map says will. */
  consumers: { name: string; at: string | undefined }[];
  /** Per Trigger: the attempts the live feed still holds. */
  deliveries: { trigger: string; attempts: number; status: number | null; outcome: DeliveryItem['outcome'] }[];
  /** Some Trigger needed more than one attempt, or gave up. */
  retried: boolean;
}

export interface SagaLayout {
  lanes: string[];
  events: PlacedEvent[];
  /** The order is waiting for a deposit to cover it. */
  waitingForFunds: boolean;
  /** How often the reconciler drove the order on. */
  redriven: number;
}

export function sagaLayout(view: OrderView, live: readonly DeliveryItem[] = []): SagaLayout {
  const { sagaMap } = view;
  const known = new Set(sagaMap.functions.map((f) => f.name));
  const laneOf = (e: SagaEvent) => (e.producer !== null && known.has(e.producer) ? e.producer : OUTSIDE);
  const used = new Set(view.events.map(laneOf));
  const lanes = [
    ...(used.has(OUTSIDE) ? [OUTSIDE] : []),
    ...sagaMap.orderLanes,
    ...[...used].filter((l) => l !== OUTSIDE && !sagaMap.orderLanes.includes(l)),
  ];
  // The server's attempts and the page's own live ones, each attempt once.
  const attempts = new Map<string, DeliveryItem>();
  for (const a of [...view.attempts, ...live]) attempts.set(`${a.event.id}\n${a.trigger}\n${a.deadLetterSink}\n${a.attempt}`, a);

  const events = view.events.map((event, column): PlacedEvent => {
    const expected = sagaMap.functions.filter((f) => f.consumes.includes(event.name)).map((f) => f.name);
    const consumers =
      event.consumedBy.length > 0 ? event.consumedBy.map((c) => ({ name: c.consumer, at: c.at as string | undefined })) : expected.map((name) => ({ name, at: undefined }));
    const mine = [...attempts.values()].filter((a) => a.event.id === event.id && !a.deadLetterSink);
    const triggers = [...new Set(mine.map((a) => a.trigger))];
    const deliveries = triggers.map((trigger) => {
      const of = mine.filter((a) => a.trigger === trigger).sort((a, b) => a.attempt - b.attempt);
      const last = of.at(-1)!;
      return { trigger, attempts: of.length, status: last.status, outcome: last.outcome };
    });
    return {
      event,
      lane: laneOf(event),
      column,
      compensates: sagaMap.compensations[event.name],
      consumers,
      deliveries,
      retried: deliveries.some((d) => d.attempts > 1 || d.outcome === 'failed'),
    };
  });
  return {
    lanes,
    events,
    waitingForFunds: view.order.status === 'awaiting_funds',
    redriven: view.order.reconcileAttempts,
  };
}
