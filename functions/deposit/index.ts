/** deposit: money in and out of an account (`POST …/deposits`, `POST …/withdrawals`, `deposit.requested`). */
import { authorizeAccount } from '../../lib/auth.js';
import { commitIdempotent, replyOf } from '../../lib/commit.js';
import { defineFunction, type RouteRequest, type Runtime } from '../../lib/function.js';
import { entityIdFor, newId } from '../../lib/ids.js';
import { baseOptions } from '../../lib/runtime.js';
import { bodyValidator } from '../../lib/validate.js';
import { schemas } from '../../events/schemas.js';
import { DEPOSIT, routines, WITHDRAW } from './domain.js';

const readAmount = bodyValidator<{ amount: number }>({
  type: 'object',
  additionalProperties: false,
  required: ['amount'],
  properties: { amount: schemas['deposit.requested'].properties.amount },
});

/** A money route: the account's own token, an amount, once per Idempotency-Key. */
async function move(rt: Runtime, req: RouteRequest, step: string, idField: 'depositId' | 'withdrawalId') {
  const accountId = authorizeAccount(rt.tokens, req, 'accountId');
  const { amount } = readAmount(req.body);
  return replyOf(await commitIdempotent(rt, req, accountId, step, { accountId, amount, [idField]: newId() }));
}

export default defineFunction({
  name: 'deposit',
  role: "Moves money in and out of an account's balance, every movement in the ledger.",
  options: baseOptions,
  setup: () => undefined,
  routines,
  consumes: {
    'deposit.requested': {
      emits: ['account.deposited'],
      describe: 'adds the amount to the balance',
      handle: ({ event, consume }) => consume(DEPOSIT, { ...event.data, depositId: event.data.depositId ?? entityIdFor('deposit', event) }),
    },
  },
  routes: [
    { method: 'POST', path: '/accounts/:accountId/deposits', emits: ['account.deposited'], handle: (req, { rt }) => move(rt, req, DEPOSIT, 'depositId') },
    {
      method: 'POST',
      path: '/accounts/:accountId/withdrawals',
      emits: ['account.withdrawn'],
      handle: (req, { rt }) => move(rt, req, WITHDRAW, 'withdrawalId'),
    },
  ],
});
