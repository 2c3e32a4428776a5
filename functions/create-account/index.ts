/** create-account: `POST /accounts` and `account.requested`. */
import { readConfig } from '../../lib/config.js';
import { createHttpFunction, type HttpFunction } from '../../lib/http-function.js';
import { newId, entityIdFor } from '../../lib/ids.js';
import { runChange } from '../../lib/routes.js';
import { baseOptions, createRuntime, type Runtime } from '../../lib/runtime.js';
import { bodyValidator } from '../../lib/validate.js';
import { schemas } from '../../events/schemas.js';
import { openAccount } from './domain.js';

const { email, name } = schemas['account.requested'].properties;
const readNewAccount = bodyValidator<{ email: string; name: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['email', 'name'],
  properties: { email, name },
});

export function createAccountFunction(rt: Runtime): HttpFunction {
  return createHttpFunction(rt, {
    routes: [
      {
        method: 'POST',
        path: '/accounts',
        async handle(req) {
          const body = readNewAccount(req.body);
          const account = await runChange(rt, (tx) => openAccount(tx, { accountId: newId(), ...body }));
          return { status: 201, body: { ...account, token: rt.tokens.issue(account.id) }, headers: { Location: `/accounts/${account.id}` } };
        },
      },
    ],
    events: {
      'account.requested': async (tx, event) => {
        const { accountId = entityIdFor('account', event), ...details } = event.data;
        await openAccount(tx, { accountId, ...details });
      },
    },
  });
}

/** Builds the function from the environment (the Functions Framework target). */
export function fromEnv(env: NodeJS.ProcessEnv = process.env): HttpFunction {
  return createAccountFunction(createRuntime('create-account', readConfig(baseOptions, env)));
}
