/**
 * Flattening writes in what a schema refers to, and refuses every way of
 * writing a schema it could flatten wrongly. (That each flat schema accepts
 * what the schema does is events/wire-format.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { flatSchemaOf, flatten } from './flat.js';
import { EVENT_NAMES } from './index.js';

const TERMS = 'https://ordersaga.dev/events/terms/order.json';
const heading = { $id: 'https://ordersaga.dev/events/test.json', title: 'test', description: 'A schema of this test.', 'x-ordersaga-kind': 'fact', type: 'object' };

describe('flattening a schema', () => {
  it('writes in the terms allOf brings, before the schema\'s own members, and each member given by its pointer', () => {
    const flat = flatten(
      {
        ...heading,
        allOf: [{ $ref: TERMS }],
        properties: { payWithin: { $ref: `${TERMS}#/$defs/payWithin` }, note: { type: 'string' } },
        required: ['note'],
        unevaluatedProperties: false,
      },
      'test',
    );
    expect(Object.keys(flat.properties)).toEqual(['orderId', 'accountId', 'slotId', 'seats', 'amount', 'payWithin', 'note']);
    expect(flat.required).toEqual(['orderId', 'accountId', 'slotId', 'seats', 'amount', 'note']);
    expect(flat.properties.seats).toEqual({ type: 'integer', minimum: 1, maximum: 1000 });
    expect(flat.properties.payWithin).toMatchObject({ type: 'integer', minimum: 0, maximum: 86_400 });
    expect(flat).toMatchObject({ ...heading, additionalProperties: false });
    expect(flat).not.toHaveProperty('unevaluatedProperties');
  });

  it('flattens every event type to members that refer to nothing, with every required member declared', () => {
    for (const name of EVENT_NAMES) {
      const flat = flatSchemaOf(name);
      expect(JSON.stringify(flat), name).not.toContain('$ref');
      expect(flat.additionalProperties, name).toBe(false);
      for (const member of flat.required) expect(flat.properties, `${name} ${member}`).toHaveProperty(member);
    }
  });

  it.each([
    ['refuses no other member', { ...heading, properties: {} }, /does not refuse members/],
    ['has additionalProperties beside allOf', { ...heading, allOf: [{ $ref: TERMS }], additionalProperties: false }, /additionalProperties beside allOf/],
    ['refers to no definition', { ...heading, allOf: [{ $ref: 'https://ordersaga.dev/events/terms/nothing.json' }], unevaluatedProperties: false }, /names no definition/],
    ['points at nothing in a definition', { ...heading, additionalProperties: false, properties: { x: { $ref: `${TERMS}#/properties/nothing` } } }, /points at nothing/],
    ['puts keywords beside a $ref', { ...heading, additionalProperties: false, properties: { seats: { $ref: `${TERMS}#/properties/seats`, maximum: 10 } } }, /other keywords beside it/],
    ['declares a term again', { ...heading, allOf: [{ $ref: TERMS }], properties: { seats: { type: 'integer' } }, unevaluatedProperties: false }, /declares seats more than once/],
    ['brings constraints in allOf that are not members', { ...heading, allOf: [{ minProperties: 2 }], unevaluatedProperties: false }, /allOf\[0\] has keywords that cannot be flattened: minProperties/],
    ['has constraints of its own that are not members', { ...heading, additionalProperties: false, properties: {}, patternProperties: { '^x': {} } }, /has keywords that cannot be flattened: patternProperties/],
    ['refers deeper than a member', { ...heading, additionalProperties: false, properties: { list: { type: 'array', items: { $ref: `${TERMS}#/properties/seats` } } } }, /deeper than a member/],
  ])('throws on a schema that %s', (_, schema, message) => {
    expect(() => flatten(schema, 'test')).toThrow(message);
  });
});
