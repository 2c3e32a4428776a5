/**
 * The saga map, read from the function registry in this one place: the
 * registry's shape is about to change (each function exporting its own
 * definition), and only this adapter should need to follow it.
 */
import { FUNCTIONS } from '../../functions/registry.js';
import type { SagaMap } from './api-types.js';

/** What the adapter needs of a function's declaration: consumed types as a list, or as the keys of a handler table. */
export interface DeclaredFunction {
  name: string;
  consumes: readonly string[] | Readonly<Record<string, unknown>>;
  emits: readonly string[];
}

/**
 * Events that undo an earlier step, and the step they undo. The registry
 * does not say which events compensate, so it is said here.
 */
export const COMPENSATIONS: Readonly<Record<string, string>> = { 'slot.released': 'slot.reserved' };

/** Where an order's saga starts. */
const ORDER_ENTRY = 'order.requested';

/** The saga map of `declared` (the registry unless given). */
export function sagaMapOf(declared: readonly DeclaredFunction[] = FUNCTIONS): SagaMap {
  const functions = declared.map((fn) => ({
    name: fn.name,
    consumes: Array.isArray(fn.consumes) ? [...(fn.consumes as readonly string[])] : Object.keys(fn.consumes),
    emits: [...fn.emits],
  }));
  // The lanes of an order's view: every function the order's events reach,
  // depth first along each function's emits, so they read in saga order
  // (place-order, reserve-slot, charge, notify) rather than by distance.
  const orderLanes: string[] = [];
  const seen = new Set<string>();
  const visit = (event: string) => {
    if (seen.has(event)) return;
    seen.add(event);
    for (const fn of functions.filter((f) => f.consumes.includes(event))) {
      if (!orderLanes.includes(fn.name)) orderLanes.push(fn.name);
      for (const next of fn.emits) visit(next);
    }
  };
  visit(ORDER_ENTRY);
  return { functions, compensations: { ...COMPENSATIONS }, orderLanes };
}
