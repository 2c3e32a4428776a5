/** The saga diagram is generated from the registry, and the README shows the current one. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SAGA_EDGES, SAGA_FUNCTIONS } from './registry.js';
import { DIAGRAM_BEGIN, DIAGRAM_END, sagaDiagram, sagaMap, withDiagram } from './saga-map.js';

const diagram = sagaDiagram(SAGA_FUNCTIONS);
const node = (prefix: string, name: string) => `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;

describe('the saga diagram', () => {
  it('draws every saga edge: the event into its consumer, dotted for a compensation, and out to what it may emit', () => {
    for (const edge of SAGA_EDGES) {
      const into = `${node('e', edge.event)} ${edge.compensation ? '-. compensation .->' : '-->'} ${node('f', edge.subscriber)}`;
      expect(diagram, into).toContain(into);
      for (const emitted of edge.emits) expect(diagram).toContain(`${node('f', edge.subscriber)} --> ${node('e', emitted)}`);
    }
  });

  it('draws the REST routes that start a flow and the Knative sources', () => {
    expect(diagram).toContain('r_POST__orders[/"POST /orders"/]');
    expect(diagram).toContain('s_PingSource_payment_deadlines -.-> f_charge');
  });

  it('is the one in the README (run `npm run saga:diagram` after changing the registry)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(DIAGRAM_BEGIN);
    expect(withDiagram(readme, diagram)).toBe(readme);
  });

  it('refuses a text without the markers', () => {
    expect(() => withDiagram('no markers here', diagram)).toThrow(DIAGRAM_END);
  });
});

describe('the saga map as data', () => {
  it('lists each function with its consumers, sources and routes', () => {
    const charge = sagaMap(SAGA_FUNCTIONS).find((fn) => fn.name === 'charge')!;
    expect(charge.consumes.map((c) => c.event)).toEqual(['slot.reserved', 'account.deposited', 'order.cancellation.requested']);
    expect(charge.sources).toEqual([expect.objectContaining({ from: 'PingSource/payment-deadlines', type: 'dev.knative.sources.ping', emits: ['payment.declined'] })]);
    const reserve = sagaMap(SAGA_FUNCTIONS).find((fn) => fn.name === 'reserve-slot')!;
    expect(reserve.consumes.find((c) => c.event === 'payment.declined')?.compensation).toBe(true);
  });
});
