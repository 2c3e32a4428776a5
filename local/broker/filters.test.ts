import { describe, expect, it } from 'vitest';
import { BrokerConfigError, createBroker } from './index.js';
import type { BrokerEvent } from './events.js';
import { compileTriggerFilter } from './filters.js';
import { brokerManifest, recordingLog, triggerManifest, uriResolver } from './testing.js';

const event: BrokerEvent = {
  attributes: {
    specversion: '1.0',
    id: 'e-1',
    source: '/ordersaga/place-order',
    type: 'dev.ordersaga.order.placed',
    subject: 'order-7',
    datacontenttype: 'application/json; charset=utf-8',
    tenant: 'acme',
  },
  data: Buffer.from('{}'),
};

const passes = (spec: Record<string, unknown>) => compileTriggerFilter(spec, 'Trigger t')(event) !== 'fail';

describe('Trigger filters', () => {
  it.each([
    ['no filter at all', {}, true],
    ['an empty filter', { filter: {} }, true],
    ['empty attributes', { filter: { attributes: {} } }, true],
    ['attributes: type matches', { filter: { attributes: { type: 'dev.ordersaga.order.placed' } } }, true],
    ['attributes: type differs', { filter: { attributes: { type: 'dev.ordersaga.order.confirmed' } } }, false],
    ['attributes: every listed attribute must match', { filter: { attributes: { type: 'dev.ordersaga.order.placed', source: '/elsewhere' } } }, false],
    ['attributes: an extension matches', { filter: { attributes: { tenant: 'acme' } } }, true],
    ['attributes: a missing extension fails', { filter: { attributes: { region: 'eu' } } }, false],
    ['attributes: "" asks for presence, present', { filter: { attributes: { tenant: '' } } }, true],
    ['attributes: "" asks for presence, absent', { filter: { attributes: { dataschema: '' } } }, false],
    ['attributes: datamediatype drops parameters', { filter: { attributes: { datamediatype: 'application/json' } } }, true],
    ['exact', { filters: [{ exact: { type: 'dev.ordersaga.order.placed' } }] }, true],
    ['exact is case-sensitive', { filters: [{ exact: { type: 'DEV.ordersaga.order.placed' } }] }, false],
    ['exact on an extension', { filters: [{ exact: { tenant: 'acme' } }] }, true],
    ['prefix', { filters: [{ prefix: { type: 'dev.ordersaga.order.' } }] }, true],
    ['prefix misses', { filters: [{ prefix: { type: 'dev.ordersaga.slot.' } }] }, false],
    ['suffix', { filters: [{ suffix: { type: '.placed' } }] }, true],
    ['suffix on a missing extension', { filters: [{ suffix: { region: 'eu' } }] }, false],
    ['every entry of filters must pass', { filters: [{ prefix: { type: 'dev.' } }, { exact: { subject: 'order-8' } }] }, false],
    ['all', { filters: [{ all: [{ prefix: { type: 'dev.' } }, { exact: { subject: 'order-7' } }] }] }, true],
    ['all with one miss', { filters: [{ all: [{ prefix: { type: 'dev.' } }, { exact: { subject: 'order-8' } }] }] }, false],
    ['any', { filters: [{ any: [{ exact: { type: 'x' } }, { suffix: { source: '/place-order' } }] }] }, true],
    ['any with no match', { filters: [{ any: [{ exact: { type: 'x' } }, { exact: { type: 'y' } }] }] }, false],
    ['not', { filters: [{ not: { exact: { type: 'dev.ordersaga.order.placed' } } }] }, false],
    ['not of a miss', { filters: [{ not: { exact: { type: 'x' } } }] }, true],
    ['filters win over filter', { filter: { attributes: { type: 'nope' } }, filters: [{ exact: { type: 'dev.ordersaga.order.placed' } }] }, true],
    ['an empty filters list falls back to filter', { filter: { attributes: { type: 'nope' } }, filters: [] }, false],
  ])('%s', (_name, spec, expected) => {
    expect(passes(spec)).toBe(expected);
  });

  it.each([
    ['two dialects in one expression', { filters: [{ exact: { type: 'a' }, prefix: { type: 'b' } }] }, /exactly one dialect/],
    ['no dialect', { filters: [{}] }, /exactly one dialect/],
    ['an unknown dialect', { filters: [{ regex: { type: 'a.*' } }] }, /unknown dialect/],
    ['exact with two attributes', { filters: [{ exact: { type: 'a', source: 'b' } }] }, /exactly one attribute/],
    ['an empty exact value', { filters: [{ exact: { type: '' } }] }, /non-empty/],
    ['a bad attribute name', { filter: { attributes: { 'Bad-Name': 'x' } } }, /not a valid attribute name/],
    ['a non-string attribute value', { filter: { attributes: { retries: 3 } } }, /must be a string/],
    ['cesql', { filters: [{ cesql: "type = 'x'" }] }, /cesql/],
    ['nested cesql', { filters: [{ any: [{ exact: { type: 'a' } }, { cesql: "type = 'x'" }] }] }, /cesql/],
  ])('refuses %s', (_name, spec, message) => {
    expect(() => compileTriggerFilter(spec, 'Trigger t')).toThrow(BrokerConfigError);
    expect(() => compileTriggerFilter(spec, 'Trigger t')).toThrow(message);
  });

  it('refuses a cesql Trigger when the Broker is built, naming the Trigger', () => {
    const build = () =>
      createBroker({
        manifests: [brokerManifest(), triggerManifest('by-sql', 'http://127.0.0.1:9/', { filters: [{ cesql: "type LIKE 'dev.%'" }] })],
        resolve: uriResolver,
        log: recordingLog(),
      });
    expect(build).toThrow(BrokerConfigError);
    expect(build).toThrow(/Trigger ordersaga\/by-sql: spec\.filters\[0\] uses the cesql dialect/);
  });
});
