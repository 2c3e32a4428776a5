/** reserve-slot: the slot catalogue, `order.placed` → reserve, `payment.declined` → release. */
import { checkAdminToken } from '../../lib/auth.js';
import { opt, readConfig } from '../../lib/config.js';
import { createHttpFunction, type HttpFunction } from '../../lib/http-function.js';
import { newId } from '../../lib/ids.js';
import { idParam, runChange } from '../../lib/routes.js';
import { baseOptions, createRuntime, type Runtime } from '../../lib/runtime.js';
import { bodyValidator } from '../../lib/validate.js';
import { schemas } from '../../events/schemas.js';
import { createSlot, findSlot, listSlots, releaseSeats, reserveSeats } from './domain.js';

export const options = {
  ...baseOptions,
  adminToken: opt.secret('ADMIN_TOKEN', 'token that may create slots', 16),
};

const { name, capacity, price } = schemas['slot.created'].properties;
const readNewSlot = bodyValidator<{ name: string; capacity: number; price: number }>({
  type: 'object',
  additionalProperties: false,
  required: ['name', 'capacity', 'price'],
  properties: { name, capacity, price },
});

export function createReserveSlotFunction(rt: Runtime, adminToken: string): HttpFunction {
  return createHttpFunction(rt, {
    routes: [
      {
        method: 'POST',
        path: '/slots',
        async handle(req) {
          checkAdminToken(adminToken, req.header('authorization'));
          const body = readNewSlot(req.body);
          const slot = await runChange(rt, (tx) => createSlot(tx, { slotId: newId(), ...body }));
          return { status: 201, body: slot, headers: { Location: `/slots/${slot.id}` } };
        },
      },
      { method: 'GET', path: '/slots', handle: async () => ({ status: 200, body: await listSlots(rt.db) }) },
      {
        method: 'GET',
        path: '/slots/:slotId',
        handle: async (req) => ({ status: 200, body: await findSlot(rt.db, idParam(req, 'slotId')) }),
      },
    ],
    events: {
      'order.placed': (tx, event) => reserveSeats(tx, event.data),
      'payment.declined': (tx, event) => releaseSeats(tx, event.data),
    },
  });
}

export function fromEnv(env: NodeJS.ProcessEnv = process.env): HttpFunction {
  const config = readConfig(options, env);
  return createReserveSlotFunction(createRuntime('reserve-slot', config), config.adminToken);
}
