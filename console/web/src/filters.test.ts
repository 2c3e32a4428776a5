/** The live view's filters and order links. */
import { describe, expect, it } from 'vitest';
import type { EventItem } from '../../server/api-types.js';
import { choicesOf, matches, NO_FILTERS, orderIdOf } from './filters.js';
import type { EventRow } from './live.js';

const ORDER = '5f0c6a9e-1b2d-4c3e-8f4a-9b8c7d6e5f40';
const row = (attributes: Record<string, string>, data: string | null = null): EventRow => ({
  item: { kind: 'event', seq: 1, at: '', reply: false, attributes: { specversion: '1.0', id: '1', ...attributes }, data, dataEncoding: 'utf8', dataTruncated: false } as EventItem,
  deliveries: [],
});
const placed = row({ type: 'dev.ordersaga.order.placed', source: '/ordersaga/place-order', subject: ORDER }, '{"orderId":"x","amount":3000}');
const created = row({ type: 'dev.ordersaga.account.created', source: '/ordersaga/create-account', subject: 'acc-1' }, '{"email":"ada@example.com"}');

describe('filters', () => {
  it.each([
    ['nothing set', {}, [true, true]],
    ['a type', { type: 'dev.ordersaga.order.placed' }, [true, false]],
    ['a source', { source: '/ordersaga/create-account' }, [false, true]],
    ['part of a subject', { subject: 'acc' }, [false, true]],
    ['text in the data, in any case', { text: 'ADA@example' }, [false, true]],
    ['text in an attribute', { text: 'place-order' }, [true, false]],
    ['several words, all needed', { text: 'amount 3000' }, [true, false]],
    ['words not all there', { text: 'amount ada' }, [false, false]],
    ['a type and a subject that disagree', { type: 'dev.ordersaga.order.placed', subject: 'acc' }, [false, false]],
  ])('with %s', (_name, set, expected) => {
    const filters = { ...NO_FILTERS, ...set };
    expect([matches(placed, filters), matches(created, filters)]).toEqual(expected);
  });

  it('offers the types and sources seen, sorted', () => {
    expect(choicesOf([placed, created, placed])).toEqual({
      types: ['dev.ordersaga.account.created', 'dev.ordersaga.order.placed'],
      sources: ['/ordersaga/create-account', '/ordersaga/place-order'],
    });
  });
});

describe('order links', () => {
  it.each([
    ['the subject of an order event', { type: 'dev.ordersaga.order.placed', subject: ORDER }, null, ORDER],
    ['the subject of a payment', { type: 'dev.ordersaga.payment.charged', subject: ORDER }, null, ORDER],
    ['the subject of a letter', { type: 'dev.ordersaga.notification.sent', subject: ORDER }, null, ORDER],
    ['the orderId of a command', { type: 'dev.ordersaga.order.requested', subject: 'x' }, `{"orderId":"${ORDER}"}`, ORDER],
    ['nothing for an account event', { type: 'dev.ordersaga.account.created', subject: ORDER }, '{}', undefined],
    ['nothing for a slot created', { type: 'dev.ordersaga.slot.created', subject: ORDER }, null, undefined],
    ['nothing for data that is not JSON', { type: 'x' }, 'not json', undefined],
    ['nothing for an orderId that is not a UUID', { type: 'x' }, '{"orderId":"1 or 1"}', undefined],
  ])('%s', (_name, attributes, data, expected) => {
    expect(orderIdOf(attributes, data)).toBe(expected);
  });
});
