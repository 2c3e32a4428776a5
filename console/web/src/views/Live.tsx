/** The live feed: every event through the Broker, with each Trigger's delivery outcome; filters, pause and a detail view. */
import { useMemo, useState } from 'preact/hooks';
import type { SessionInfo } from '../../../server/api-types.js';
import { choicesOf, matches, NO_FILTERS, orderIdOf, type Filters } from '../filters.js';
import { clock, nameOfType, short } from '../format.js';
import { deliverySummary, type EventRow, type LiveStore } from '../live.js';
import { EventDetail } from './EventDetail.js';
import { Table } from './Table.js';

/** Each Trigger's outcome as a chip: ✓ delivered, ↻ retried, ✗ failed or dead-lettered. */
export function DeliveryChips({ row }: { row: EventRow }) {
  return (
    <span class="chips">
      {deliverySummary(row).map((d) => {
        const mark = d.deadLettered ? '✗ dead-lettered' : d.outcome === 'failed' ? '✗' : d.outcome === 'retrying' ? '↻' : '✓';
        const retries = d.attempts > 1 ? ` ×${d.attempts}` : '';
        return (
          <span class={`chip outcome-${d.deadLettered ? 'failed' : d.outcome}`} title={`${d.trigger}: attempt ${d.attempts}, ${d.status ?? 'no answer'}, ${d.ms} ms`}>
            {mark} {d.trigger} {d.status ?? '—'}
            {retries} · {d.ms} ms
          </span>
        );
      })}
    </span>
  );
}

export function LiveView({ store, session }: { store: LiveStore; session: SessionInfo }) {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [selected, setSelected] = useState<EventRow | undefined>();
  const rows = store.list();
  const { types, sources } = useMemo(() => choicesOf(rows), [store.version]);
  const shown = rows.filter((r) => matches(r, filters));
  const set = (key: keyof Filters) => (e: Event) => setFilters({ ...filters, [key]: (e.currentTarget as HTMLInputElement).value });
  return (
    <section class="live">
      <div class="toolbar" role="search">
        <select aria-label="type" value={filters.type} onChange={set('type')}>
          <option value="">any type</option>
          {types.map((t) => (
            <option value={t}>{nameOfType(t)}</option>
          ))}
        </select>
        <select aria-label="source" value={filters.source} onChange={set('source')}>
          <option value="">any source</option>
          {sources.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <input aria-label="subject" placeholder="subject" value={filters.subject} onInput={set('subject')} />
        <input aria-label="search" placeholder="search attributes and data" value={filters.text} onInput={set('text')} />
        <button type="button" class={store.paused ? 'paused' : ''} onClick={() => (store.paused ? store.resume() : store.pause())}>
          {store.paused ? `Resume (${store.heldCount} held)` : 'Pause'}
        </button>
        <span class="muted">
          {shown.length} of {rows.length} events
          {store.missed > 0 && ` · ${store.missed} missed`}
        </span>
      </div>
      {!session.deliveries && <p class="muted">Delivery outcomes are not visible in a cluster.</p>}
      <Table class="feed" head={['time', 'type', 'source', 'subject', 'id', 'deliveries']}>
        {shown.map((row) => {
          const { attributes } = row.item;
          const orderId = orderIdOf(attributes, row.item.data);
          return (
            <tr key={row.item.seq} class={selected === row ? 'selected' : ''} onClick={() => setSelected(row)} data-type={String(attributes.type)} data-subject={String(attributes.subject ?? '')}>
              <td>{clock(row.item.at)}</td>
              <td>
                {nameOfType(attributes.type)}
                {row.item.reply && <span class="muted"> (reply)</span>}
              </td>
              <td>{String(attributes.source)}</td>
              <td>
                {orderId && orderId === attributes.subject ? (
                  <a href={`#/orders/${orderId}`} onClick={(e) => e.stopPropagation()}>
                    {short(orderId)}
                  </a>
                ) : (
                  String(attributes.subject ?? '')
                )}
              </td>
              <td title={String(attributes.id)}>{short(String(attributes.id))}</td>
              <td>
                <DeliveryChips row={row} />
              </td>
            </tr>
          );
        })}
      </Table>
      {rows.length === 0 && <p class="muted">No events yet. Place an order, or send one from the Send page.</p>}
      {selected && <EventDetail row={selected} onClose={() => setSelected(undefined)} />}
    </section>
  );
}
