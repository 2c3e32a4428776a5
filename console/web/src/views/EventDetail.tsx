/** One event in full: its context attributes, its extensions, its data and every delivery attempt. */
import type { EventItem } from '../../../server/api-types.js';
import { orderIdOf } from '../filters.js';
import { clock, pretty } from '../format.js';
import type { EventRow } from '../live.js';
import { Table } from './Table.js';

/** The attributes CloudEvents 1.0 defines; every other one is an extension. */
const CORE = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema'];

export function Attributes({ item }: { item: Pick<EventItem, 'attributes'> }) {
  const entries = Object.entries(item.attributes);
  const table = (rows: [string, unknown][]) => (
    <table class="attributes">
      <tbody>
        {rows.map(([k, v]) => (
          <tr>
            <th>{k}</th>
            <td>{String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
  const extensions = entries.filter(([k]) => !CORE.includes(k));
  return (
    <>
      <h3>Attributes</h3>
      {table(CORE.filter((k) => k in item.attributes).map((k) => [k, item.attributes[k]]))}
      <h3>Extensions</h3>
      {extensions.length > 0 ? table(extensions) : <p class="muted">none</p>}
    </>
  );
}

export function EventDetail({ row, onClose }: { row: EventRow; onClose: () => void }) {
  const { item } = row;
  const orderId = orderIdOf(item.attributes, item.data);
  return (
    <aside class="detail" aria-label="event detail">
      <button type="button" class="close" onClick={onClose} aria-label="close">
        ×
      </button>
      <h2>{String(item.attributes.type)}</h2>
      <p>
        seen {clock(item.at)}
        {item.reply === true && ' · a reply, taken back into the Broker'}
        {orderId && (
          <>
            {' · '}
            <a href={`#/orders/${orderId}`}>order {orderId}</a>
          </>
        )}
      </p>
      <Attributes item={item} />
      <h3>Data {item.dataEncoding === 'base64' && '(base64)'}</h3>
      {item.dataTruncated && <p class="muted">cut: the feed keeps the beginning of long data</p>}
      <pre class="data">{item.data === null ? '(none)' : item.dataEncoding === 'utf8' ? pretty(item.data) : item.data}</pre>
      <h3>Deliveries</h3>
      {row.deliveries.length === 0 ? (
        <p class="muted">none seen</p>
      ) : (
        <Table class="deliveries" head={['Trigger', 'to', 'attempt', 'status', 'ms', 'outcome']}>
          {row.deliveries.map((d) => (
            <tr class={`outcome-${d.outcome}`}>
              <td>{d.trigger}</td>
              <td>{d.deadLetterSink ? `dead-letter sink ${d.url}` : d.url}</td>
              <td>{d.attempt}</td>
              <td>{d.status ?? 'no answer'}</td>
              <td>{d.ms}</td>
              <td>
                {d.outcome}
                {d.reason ? ` (${d.reason})` : ''}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </aside>
  );
}
