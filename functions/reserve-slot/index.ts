/** reserve-slot: the slot catalogue, `order.placed` → reserve seats, `payment.declined` → release them. */
import { checkAdminToken, idParam } from '../../lib/auth.js';
import { commitChange } from '../../lib/commit.js';
import { opt } from '../../lib/config.js';
import { defineFunction, step } from '../../lib/function.js';
import { newId } from '../../lib/ids.js';
import { baseOptions } from '../../lib/runtime.js';
import { bodyValidator } from '../../lib/validate.js';
import { schemas } from '../../events/schemas.js';
import { CREATE_SLOT, findSlot, listSlots, RELEASE_SEATS, RESERVE_SEATS, routines, type Slot } from './domain.js';

const { name, capacity, price } = schemas['slot.created'].properties;
const readNewSlot = bodyValidator<{ name: string; capacity: number; price: number }>({
  type: 'object',
  additionalProperties: false,
  required: ['name', 'capacity', 'price'],
  properties: { name, capacity, price },
});

export default defineFunction({
  name: 'reserve-slot',
  role: 'Keeps the slots and their seats: reserves them for orders, and gives them back when a payment fails.',
  options: { ...baseOptions, adminToken: opt.secret('ADMIN_TOKEN', 'token that may create slots', 16) },
  setup: (_rt, config) => ({ adminToken: config.adminToken }),
  routines,
  consumes: {
    'order.placed': step(RESERVE_SEATS, ['slot.reserved', 'slot.rejected'], 'reserves the seats, or rejects the order (sold_out, unknown_slot)'),
    'payment.declined': step(RELEASE_SEATS, ['slot.released'], "gives the order's seats back", { compensation: true, undoes: 'slot.reserved' }),
  },
  routes: [
    {
      method: 'POST',
      path: '/slots',
      emits: ['slot.created'],
      async handle(req, { rt, deps }) {
        checkAdminToken(deps.adminToken, req.header('authorization'));
        const slot = await commitChange<Slot>(rt, CREATE_SLOT, { slotId: newId(), ...readNewSlot(req.body) });
        return { status: 201, body: slot, headers: { Location: `/slots/${slot.id}` } };
      },
    },
    { method: 'GET', path: '/slots', handle: async (_req, { rt }) => ({ status: 200, body: await listSlots(rt.sql) }) },
    { method: 'GET', path: '/slots/:slotId', handle: async (req, { rt }) => ({ status: 200, body: await findSlot(rt.sql, idParam(req, 'slotId')) }) },
  ],
});
