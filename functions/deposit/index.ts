/** deposit: the account's balance, deposits and withdrawals, and `deposit.requested`. */
import { readConfig } from '../../lib/config.js';
import { createHttpFunction, type HttpFunction } from '../../lib/http-function.js';
import { entityIdFor, newId } from '../../lib/ids.js';
import { authorizeAccount, authorizeBodyAccount, idParam, runIdempotent } from '../../lib/routes.js';
import { baseOptions, createRuntime, type Runtime } from '../../lib/runtime.js';
import { bodyValidator } from '../../lib/validate.js';
import { schemas } from '../../events/schemas.js';
import { deposit, findAccount, withdraw } from './domain.js';

const readAmount = bodyValidator<{ amount: number }>({
  type: 'object',
  additionalProperties: false,
  required: ['amount'],
  properties: { amount: schemas['deposit.requested'].properties.amount },
});

export function createDepositFunction(rt: Runtime): HttpFunction {
  return createHttpFunction(rt, {
    routes: [
      {
        method: 'GET',
        path: '/accounts/:accountId',
        async handle(req) {
          const accountId = authorizeAccount(rt, req, 'accountId');
          return { status: 200, body: await findAccount(rt.db, accountId) };
        },
      },
      {
        method: 'POST',
        path: '/accounts/:accountId/deposits',
        async handle(req) {
          const accountId = authorizeAccount(rt, req, 'accountId');
          const { amount } = readAmount(req.body);
          return runIdempotent(rt, req, accountId, async (tx) => {
            const depositId = newId();
            const { balance } = await deposit(tx, { accountId, movementId: depositId, amount });
            return { status: 201, body: { depositId, accountId, amount, balance } };
          });
        },
      },
      {
        method: 'POST',
        path: '/accounts/:accountId/withdrawals',
        async handle(req) {
          const accountId = authorizeAccount(rt, req, 'accountId');
          const { amount } = readAmount(req.body);
          return runIdempotent(rt, req, accountId, async (tx) => {
            const withdrawalId = newId();
            const { balance } = await withdraw(tx, { accountId, movementId: withdrawalId, amount });
            return { status: 201, body: { withdrawalId, accountId, amount, balance } };
          });
        },
      },
    ],
    events: {
      'deposit.requested': async (tx, event) => {
        const { accountId, amount, depositId = entityIdFor('deposit', event) } = event.data;
        await deposit(tx, { accountId, movementId: depositId, amount });
      },
    },
  });
}

export function fromEnv(env: NodeJS.ProcessEnv = process.env): HttpFunction {
  return createDepositFunction(createRuntime('deposit', readConfig(baseOptions, env)));
}
