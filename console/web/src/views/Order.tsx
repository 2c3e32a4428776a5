/** Orders: the newest, and one order's saga, a lane per function, with its trace. */
import { useEffect, useState } from 'preact/hooks';
import type { DeliveryItem, Order, OrderView as View, Trace } from '../../../server/api-types.js';
import { api, ApiError } from '../api.js';
import { clock, short } from '../format.js';
import type { LiveStore } from '../live.js';
import { OUTSIDE, sagaLayout } from '../saga-layout.js';
import { WaterfallView } from './Waterfall.js';
import { Table } from './Table.js';

export function OrdersView({ store }: { store: LiveStore }) {
  const [orders, setOrders] = useState<Order[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [id, setId] = useState('');
  useEffect(() => {
    const load = () => api<Order[]>('GET', 'orders?limit=50').then(setOrders, (e: Error) => setError(e.message));
    load();
    // New orders show up as they are placed.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = store.onItem((item) => {
      if (item.kind === 'event' && /\.order\./.test(String(item.attributes.type)) && !timer) timer = setTimeout(() => ((timer = undefined), load()), 300);
    });
    return () => (stop(), clearTimeout(timer));
  }, [store]);
  return (
    <section class="orders">
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (id.trim()) location.hash = `#/orders/${id.trim()}`;
        }}
      >
        <input aria-label="order id" placeholder="open an order by its id" value={id} onInput={(e) => setId(e.currentTarget.value)} />
        <button type="submit">Open</button>
      </form>
      {error && <p class="error">{error}</p>}
      <Table head={['placed', 'order', 'status', 'seats', 'amount', 'account']}>
        {(orders ?? []).map((o) => (
          <tr>
            <td>{clock(o.createdAt)}</td>
            <td>
              <a href={`#/orders/${o.id}`}>{o.id}</a>
            </td>
            <td>
              <Status order={o} />
            </td>
            <td>{o.seats}</td>
            <td>{o.amount}</td>
            <td title={o.accountId}>{short(o.accountId)}</td>
          </tr>
        ))}
      </Table>
      {orders?.length === 0 && <p class="muted">No orders yet.</p>}
    </section>
  );
}

function Status({ order }: { order: Order }) {
  return (
    <span class={`status status-${order.status}`}>
      {order.status}
      {order.reason ? ` (${order.reason})` : ''}
    </span>
  );
}

export function OrderView({ id, store }: { id: string; store: LiveStore }) {
  const [view, setView] = useState<View | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [trace, setTrace] = useState<Trace | string | undefined>();
  const [live, setLive] = useState<DeliveryItem[]>([]);
  useEffect(() => {
    let alive = true;
    const load = () =>
      api<View>('GET', `orders/${encodeURIComponent(id)}`).then(
        (v) => alive && (setView(v), setError(undefined)),
        (e: Error) => alive && setError(e instanceof ApiError && e.status === 404 ? `No order ${id}` : e.message),
      );
    const loadTrace = () =>
      api<Trace>('GET', `orders/${encodeURIComponent(id)}/trace`).then(
        (t) => alive && setTrace(t),
        (e: Error) => alive && setTrace(e instanceof ApiError && e.status === 404 ? 'No trace was recorded for this order.' : e.message),
      );
    void load();
    void loadTrace();
    // The view follows the saga live: each new event about the order reloads it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = store.onItem((item) => {
      if (item.kind === 'delivery') setLive((l) => [...l.slice(-199), item]);
      if (item.kind === 'event' && item.attributes.subject === id && !timer) {
        timer = setTimeout(() => {
          timer = undefined;
          void load();
          void loadTrace();
        }, 200);
      }
    });
    return () => {
      alive = false;
      stop();
      clearTimeout(timer);
    };
  }, [id, store]);

  if (error) return <p class="error">{error}</p>;
  if (!view) return <p class="loading">Loading order {id}…</p>;
  const layout = sagaLayout(view, live);
  const { order } = view;
  return (
    <section class="order">
      <h2>
        Order <code>{order.id}</code> <Status order={order} />
      </h2>
      <p>
        {order.seats} seat{order.seats === 1 ? '' : 's'} for {order.amount} · account <code>{order.accountId}</code> · slot <code>{order.slotId}</code> · placed{' '}
        {clock(order.createdAt)} · last change {clock(order.updatedAt)}
        {layout.redriven > 0 && ` · driven on by the reconciler ${layout.redriven}×`}
      </p>
      {layout.waitingForFunds && <p class="notice wait">Waiting for funds: the seats are held and nothing is charged until a deposit covers the order.</p>}
      <div class="saga" style={{ gridTemplateColumns: `10em repeat(${Math.max(layout.events.length, 1)}, minmax(9em, 1fr))` }} aria-label="saga">
        {layout.lanes.map((lane, row) => (
          <>
            <div class="lane-name" style={{ gridRow: row + 1, gridColumn: 1 }} data-lane={lane}>
              {lane === OUTSIDE ? 'outside' : lane}
            </div>
            <div class="lane" style={{ gridRow: row + 1, gridColumn: `2 / span ${Math.max(layout.events.length, 1)}` }} />
          </>
        ))}
        {layout.events.map((p) => (
          <div
            class={`step${p.compensates ? ' compensation' : ''}${p.retried ? ' retried' : ''}`}
            style={{ gridRow: layout.lanes.indexOf(p.lane) + 1, gridColumn: p.column + 2 }}
            data-event={p.event.name}
            data-lane={p.lane}
            title={`${p.event.type} ${p.event.id}`}
          >
            <strong>{p.event.name}</strong>
            <span class="muted">{clock(p.event.at)}</span>
            {p.compensates && <span class="tag">compensation: undoes {p.compensates}</span>}
            {p.deliveries.map((d) => (
              <span class={`tag outcome-${d.outcome}`}>
                {d.trigger}: {d.attempts > 1 ? `${d.attempts} attempts, ` : ''}
                {d.status ?? 'no answer'}
              </span>
            ))}
            <span class="consumers">
              {p.consumers.map((c) => (
                <span class={c.at ? 'taken' : 'expected'}>
                  → {c.name}
                  {c.at ? ` ${clock(c.at)}` : ' (not yet)'}
                </span>
              ))}
            </span>
          </div>
        ))}
      </div>
      {layout.events.length === 0 && <p class="muted">No saga event about this order yet.</p>}
      <h3>Trace</h3>
      {trace === undefined ? <p class="loading">Loading…</p> : typeof trace === 'string' ? <p class="muted no-trace">{trace}</p> : <WaterfallView trace={trace} />}
    </section>
  );
}
