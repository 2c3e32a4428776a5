/** charge: `slot.reserved` → `payment.charged` | `payment.declined`. Events only, no routes. */
import { readConfig } from '../../lib/config.js';
import { createHttpFunction, type HttpFunction } from '../../lib/http-function.js';
import { baseOptions, createRuntime, type Runtime } from '../../lib/runtime.js';
import { chargeOrder } from './domain.js';

export function createChargeFunction(rt: Runtime): HttpFunction {
  return createHttpFunction(rt, {
    events: {
      'slot.reserved': (tx, event) => chargeOrder(tx, event.data),
    },
  });
}

export function fromEnv(env: NodeJS.ProcessEnv = process.env): HttpFunction {
  return createChargeFunction(createRuntime('charge', readConfig(baseOptions, env)));
}
