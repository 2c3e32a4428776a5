/**
 * The catalogue cannot drift: every schema file is listed, the TypeScript
 * types are what the schemas generate, every schema has an example that
 * passes it, and an event survives being produced and consumed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../lib/errors.js';
import { renderTypes } from './generate-types.js';
import { EVENT_NAMES, TYPE_PREFIX, kindOf, makeEvent, readEvent, typeOf, validateData, type EventName } from './index.js';
import { flatSchemaOf } from './flat.js';
import { definitions, schemas } from './schemas.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const namesIn = (folder: string) =>
  readdirSync(path.join(here, folder))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
const exampleOf = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(here, 'examples', `${name}.json`), 'utf8'));

describe('the event catalogue', () => {
  it('lists every schema file in events/schemas.ts, and nothing else', () => {
    expect(Object.keys(schemas).sort()).toEqual(namesIn('schemas'));
    expect(EVENT_NAMES).toEqual(namesIn('schemas'));
  });

  it('names each schema by its event and says whether it is a command or a fact', () => {
    for (const name of EVENT_NAMES) {
      const schema = schemas[name] as { $id: string; 'x-ordersaga-kind': string };
      expect(schema.$id).toBe(`https://ordersaga.dev/events/${name}.json`);
      expect(['command', 'fact']).toContain(schema['x-ordersaga-kind']);
      expect(kindOf(name)).toBe(schema['x-ordersaga-kind']);
      expect(typeOf(name)).toBe(`${TYPE_PREFIX}${name}`);
    }
  });

  it('lists every definition in events/schemas/terms by its $id, which matches where the file is', () => {
    expect(Object.keys(definitions).sort()).toEqual(namesIn('schemas/terms').map((name) => `https://ordersaga.dev/events/terms/${name}.json`));
  });

  it('writes every schema in JSON Schema 2020-12, the dialect of the one ajv', () => {
    for (const schema of [...Object.values(schemas), ...Object.values(definitions)]) expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('gives each event about an order its terms from the one definition: all of them through allOf, or each by its pointer', () => {
    const TERMS = 'https://ordersaga.dev/events/terms/order.json';
    const terms = definitions[TERMS] as { properties: object; $defs: object };
    const pointers = new Map([
      ...Object.keys(terms.properties).map((term) => [term, `${TERMS}#/properties/${term}`] as const),
      ...Object.keys(terms.$defs).map((term) => [term, `${TERMS}#/$defs/${term}`] as const),
    ]);
    const aboutAnOrder = EVENT_NAMES.filter((name) => 'orderId' in flatSchemaOf(name).properties);
    const withAllTerms = aboutAnOrder.filter((name) => Object.keys(terms.properties).every((term) => flatSchemaOf(name).required.includes(term)));
    expect(withAllTerms).toEqual(['order.cancelled', 'order.confirmed', 'order.placed', 'payment.awaiting', 'payment.charged', 'payment.declined', 'slot.rejected', 'slot.released', 'slot.reserved']);
    for (const name of withAllTerms) expect(schemas[name], name).toMatchObject({ allOf: [{ $ref: TERMS }], unevaluatedProperties: false });
    for (const name of aboutAnOrder) {
      for (const [member, schema] of Object.entries((schemas[name] as { properties?: object }).properties ?? {})) {
        if (pointers.has(member)) expect(schema, `${name} ${member}`).toEqual({ $ref: pointers.get(member) });
      }
    }
  });

  it('has TypeScript types that are exactly what the schemas generate (npm run events:types)', async () => {
    expect(readFileSync(path.join(here, 'types.ts'), 'utf8')).toBe(await renderTypes());
  });

  it('has one example per schema, and every example is valid', () => {
    expect(namesIn('examples')).toEqual(namesIn('schemas'));
    for (const name of EVENT_NAMES) expect(() => validateData(name, exampleOf(name)), name).not.toThrow();
  });

  it('refuses each example with a required field missing, a field of the wrong type, or an extra field', () => {
    for (const name of EVENT_NAMES) {
      const example = exampleOf(name);
      const { required } = flatSchemaOf(name);
      expect(required.length, `${name} requires something`).toBeGreaterThan(0);
      const { [required[0]!]: _dropped, ...missing } = example;
      expect(() => validateData(name, missing), `${name} without ${required[0]}`).toThrow(ValidationError);
      expect(() => validateData(name, { ...example, [required[0]!]: [] }), `${name} with ${required[0]} an array`).toThrow(ValidationError);
      expect(() => validateData(name, { ...example, unexpected: true }), `${name} with an extra field`).toThrow(ValidationError);
    }
  });

  it('validates where an event is produced and where it is consumed', () => {
    for (const name of EVENT_NAMES) {
      const event = makeEvent('catalogue-test', { name, subject: 'subject-1', data: exampleOf(name) as never });
      expect(event.type).toBe(typeOf(name));
      expect(event.dataschema).toBe(schemas[name].$id);
      const incoming = readEvent(event, [name]);
      expect(incoming.data).toEqual(exampleOf(name));
      // A consumer refuses a type it does not handle and data that does not match.
      const other = EVENT_NAMES.find((n) => n !== name) as EventName;
      expect(() => readEvent(event, [other])).toThrow(ValidationError);
      expect(() => readEvent(event.cloneWith({ data: {} }, false), [name])).toThrow(ValidationError);
      expect(() => makeEvent('catalogue-test', { name, subject: 's', data: {} as never })).toThrow(ValidationError);
    }
  });
});
