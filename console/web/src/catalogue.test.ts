/** The catalogue as the page reads it from the AsyncAPI document, and the send form's prefill. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { catalogueOf, prefill } from './catalogue.js';

const doc = parse(readFileSync(new URL('../../../events/asyncapi.yaml', import.meta.url), 'utf8')) as unknown;
const { info, entries } = catalogueOf(doc);
const entry = (name: string) => entries.find((e) => e.name === name)!;

describe('the catalogue page model', () => {
  it('has every message, commands first', () => {
    expect(info.title).toBe('ordersaga events');
    expect(entries).toHaveLength(18);
    expect(entries.slice(0, 4).map((e) => e.name)).toEqual(['account.requested', 'deposit.requested', 'order.cancellation.requested', 'order.requested']);
    expect(entries.slice(4).every((e) => e.kind === 'fact')).toBe(true);
  });

  it('says who sends and who receives each message, and what compensates what', () => {
    expect(entry('order.placed')).toMatchObject({ type: 'dev.ordersaga.order.placed', sentBy: ['place-order'], receivedBy: ['reserve-slot'] });
    expect(entry('order.confirmed').receivedBy).toEqual(['notify']);
    expect(entry('slot.released').compensates).toBe('slot.reserved');
    expect(entry('order.placed').compensates).toBeUndefined();
  });

  it('prefills a command from its example with a new id for the entity it creates, as its subject', () => {
    const { subject, data } = prefill(entry('order.requested'), () => 'new-id');
    expect(data.orderId).toBe('new-id');
    expect(subject).toBe('new-id');
    expect(data.accountId).toBe(entry('order.requested').example!.payload.accountId);
  });

  it('prefills a fact from its example as it is', () => {
    const { subject, data } = prefill(entry('order.placed'), () => 'new-id');
    expect(data).toEqual(entry('order.placed').example!.payload);
    expect(subject).toBe(entry('order.placed').example!.headers['ce-subject']);
  });
});
