/**
 * The saga map, as the console needs it, from the function registry's own
 * (functions/saga-map.ts): each function with what it consumes and emits,
 * which events compensate (from the consumers marked `compensation`), and
 * the Mermaid diagram of the README.
 */
import { SAGA_FUNCTIONS } from '../../functions/registry.js';
import { sagaDiagram, sagaMap, type SagaMapFunction } from '../../functions/saga-map.js';
import type { SagaMap } from './api-types.js';

/** Where an order's saga starts. */
const ORDER_ENTRY = 'order.requested';

/** The saga map of `declared` (the registry's unless given). */
export function sagaMapOf(declared: readonly SagaMapFunction[] = sagaMap(SAGA_FUNCTIONS), diagram = sagaDiagram(SAGA_FUNCTIONS)): SagaMap {
  const functions = declared.map((fn) => ({ name: fn.name, consumes: fn.consumes.map((c) => c.event as string), emits: [...fn.emits] as string[] }));
  // What each compensation emits undoes the step its consumer names.
  const compensations = Object.fromEntries(
    declared.flatMap((fn) => fn.consumes.filter((c) => c.compensation && c.undoes).flatMap((c) => c.emits.map((e) => [e, c.undoes!] as const))),
  );
  // The lanes of an order's view: every function the order's events reach,
  // breadth first along each consumer's own emits, so they read in saga order
  // (place-order, reserve-slot, charge, notify).
  const orderLanes: string[] = [];
  const seen = new Set<string>([ORDER_ENTRY]);
  for (let wave = [ORDER_ENTRY]; wave.length > 0; ) {
    const next: string[] = [];
    for (const event of wave) {
      for (const fn of declared) {
        for (const consumer of fn.consumes.filter((c) => c.event === event)) {
          if (!orderLanes.includes(fn.name)) orderLanes.push(fn.name);
          for (const emitted of consumer.emits) if (!seen.has(emitted)) seen.add(emitted), next.push(emitted);
        }
      }
    }
    wave = next;
  }
  return { functions, compensations, orderLanes, diagram };
}
