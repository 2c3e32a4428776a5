/** The live view's filters: by type, source and subject, and free text over the whole event. */
import type { EventRow } from './live.js';

export interface Filters {
  /** Exact type, or '' for any. */
  type: string;
  /** Exact source, or '' for any. */
  source: string;
  /** Part of the subject. */
  subject: string;
  /** Words that must all appear somewhere in the event (attributes or data), in any case. */
  text: string;
}

export const NO_FILTERS: Filters = { type: '', source: '', subject: '', text: '' };

export function matches(row: EventRow, filters: Filters): boolean {
  const { attributes, data } = row.item;
  if (filters.type !== '' && attributes.type !== filters.type) return false;
  if (filters.source !== '' && attributes.source !== filters.source) return false;
  if (filters.subject !== '' && !String(attributes.subject ?? '').includes(filters.subject.trim())) return false;
  const words = filters.text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = `${Object.entries(attributes).map(([k, v]) => `${k}=${String(v)}`).join(' ')} ${data ?? ''}`.toLowerCase();
  return words.every((w) => haystack.includes(w));
}

/** The types and sources seen, sorted, for the filter pickers. */
export function choicesOf(rows: readonly EventRow[]): { types: string[]; sources: string[] } {
  const types = new Set<string>();
  const sources = new Set<string>();
  for (const { item } of rows) {
    types.add(String(item.attributes.type));
    sources.add(String(item.attributes.source));
  }
  return { types: [...types].sort(), sources: [...sources].sort() };
}

const ORDER_SAGA = /^dev\.ordersaga\.(order\.|slot\.(reserved|rejected|released)$|payment\.|notification\.sent$)/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The order an event is about, for a link to its view: the subject of a saga event, or an orderId in its data. */
export function orderIdOf(attributes: Record<string, unknown>, data: string | null): string | undefined {
  const subject = attributes.subject;
  if (typeof subject === 'string' && UUID.test(subject) && ORDER_SAGA.test(String(attributes.type))) return subject;
  if (data === null) return undefined;
  try {
    const orderId = (JSON.parse(data) as { orderId?: unknown }).orderId;
    return typeof orderId === 'string' && UUID.test(orderId) ? orderId : undefined;
  } catch {
    return undefined;
  }
}
