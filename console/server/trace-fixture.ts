/**
 * A trace of one order's saga as the trace store serves it, for tests of the
 * trace routes and the waterfall that need a fixed one (a retried attempt a
 * real run seldom has): the gateway
 * request, the Broker's `broker:`/`trigger:`/`send` spans (a retried attempt
 * among them), and each function's CloudEvents producer and consumer spans.
 */
import type { Span, Trace } from './api-types.js';

export const FIXTURE_ORDER_ID = '5f0c6a9e-1b2d-4c3e-8f4a-9b8c7d6e5f40';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const START = 1_767_225_600_000_000_000n;

/** The fixture trace; `orderId` is the subject its events carry. */
export function fixtureTrace(orderId = FIXTURE_ORDER_ID): Trace {
  let next = 0;
  const spans: Span[] = [];
  const span = (
    parent: Span | undefined,
    service: string,
    kind: Span['kind'],
    name: string,
    fromMs: number,
    toMs: number,
    extra: Partial<Span> = {},
  ): Span => {
    const s: Span = {
      traceId: TRACE_ID,
      spanId: (++next).toString(16).padStart(16, '0'),
      ...(parent ? { parentSpanId: parent.spanId } : {}),
      name,
      service,
      kind,
      startUnixNano: String(START + BigInt(Math.round(fromMs * 1e6))),
      endUnixNano: String(START + BigInt(Math.round(toMs * 1e6))),
      status: 'unset',
      attributes: {},
      events: [],
      links: [],
      ...extra,
    };
    spans.push(s);
    return s;
  };
  const cloudEvent = (type: string) => ({
    'cloudevents.event_id': `${type}-id`,
    'cloudevents.event_source': '/ordersaga/place-order',
    'cloudevents.event_type': `dev.ordersaga.${type}`,
    'cloudevents.event_subject': orderId,
  });
  /** One Trigger's delivery of `type` to `subscriber`, and the subscriber's processing. */
  const hop = (ingress: Span, trigger: string, type: string, subscriber: string, fromMs: number, attempts: { ms: number; status: Span['status'] }[]) => {
    const filter = span(ingress, 'broker', 'internal', `trigger:${trigger}.ordersaga`, fromMs, fromMs + attempts.reduce((sum, a) => sum + a.ms + 1, 0));
    let at = fromMs;
    let last: Span | undefined;
    for (const [i, attempt] of attempts.entries()) {
      last = span(filter, 'broker', 'client', `send http://${subscriber}.ordersaga.svc.cluster.local/`, at, at + attempt.ms, {
        status: attempt.status,
        attributes: { 'http.response.status_code': attempt.status === 'error' ? 503 : 200, 'knative.delivery.attempt': i + 1 },
        ...(attempt.status === 'error' ? { statusMessage: 'HTTP 503' } : {}),
      });
      at += attempt.ms + 1;
    }
    // The subscriber's work sits inside the last (successful) attempt.
    const from = Number(BigInt(last!.startUnixNano) - START) / 1e6;
    const to = Number(BigInt(last!.endUnixNano) - START) / 1e6;
    return span(last, subscriber, 'consumer', `CloudEvents Process dev.ordersaga.${type}`, from + 0.5, to - 0.5, {
      attributes: cloudEvent(type),
      links: [{ traceId: TRACE_ID, spanId: '0000000000000002' }],
    });
  };

  const root = span(undefined, 'place-order', 'server', 'POST /orders', 0, 48, { status: 'ok', attributes: { 'http.request.method': 'POST', 'http.response.status_code': 201 } });
  span(root, 'place-order', 'producer', 'CloudEvents Create dev.ordersaga.order.placed', 2, 3, { attributes: cloudEvent('order.placed') });
  span(root, 'place-order', 'client', 'pg.query INSERT orders', 3, 6);
  const placed = span(root, 'broker', 'server', 'broker:default.ordersaga', 7, 8);
  const reserve = hop(placed, 'reserve-slot-on-order-placed', 'order.placed', 'reserve-slot', 8, [{ ms: 6, status: 'ok' }]);
  span(reserve, 'reserve-slot', 'client', 'pg.query UPDATE slots', 10, 12);
  const reserved = span(reserve, 'broker', 'server', 'broker:default.ordersaga', 15, 16);
  const charge = hop(reserved, 'charge-on-slot-reserved', 'slot.reserved', 'charge', 16, [
    { ms: 3, status: 'error' },
    { ms: 7, status: 'ok' },
  ]);
  span(charge, 'charge', 'client', 'pg.query UPDATE accounts', 23, 25);
  const charged = span(charge, 'broker', 'server', 'broker:default.ordersaga', 28, 29);
  const confirm = hop(charged, 'place-order-on-payment-charged', 'payment.charged', 'place-order', 29, [{ ms: 5, status: 'ok' }]);
  const confirmed = span(confirm, 'broker', 'server', 'broker:default.ordersaga', 35, 36);
  const notify = hop(confirmed, 'notify-on-order-confirmed', 'order.confirmed', 'notify', 36, [{ ms: 9, status: 'ok' }]);
  span(notify, 'notify', 'producer', 'CloudEvents Create dev.ordersaga.notification.sent', 43, 44, { attributes: cloudEvent('notification.sent') });
  return { traceId: TRACE_ID, spans };
}
