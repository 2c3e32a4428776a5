/** accounts: opens accounts (`POST /accounts`, `account.requested`) and shows them (`GET /accounts/{id}`). */
import { authorizeAccount } from '../../lib/auth.js';
import { commitChange } from '../../lib/commit.js';
import { defineFunction } from '../../lib/function.js';
import { entityIdFor, newId } from '../../lib/ids.js';
import { baseOptions } from '../../lib/runtime.js';
import { bodyValidator } from '../../lib/validate.js';
import { schemas } from '../../events/schemas.js';
import { findAccount, OPEN_ACCOUNT, routines, type Account } from './domain.js';

const { email, name } = schemas['account.requested'].properties;
const readNewAccount = bodyValidator<{ email: string; name: string }>({
  type: 'object',
  additionalProperties: false,
  required: ['email', 'name'],
  properties: { email, name },
});

export default defineFunction({
  name: 'accounts',
  role: 'Opens accounts, each with a balance of 0, and shows an account with its balance.',
  options: baseOptions,
  setup: () => undefined,
  routines,
  consumes: {
    'account.requested': {
      emits: ['account.created'],
      describe: 'opens the account the command names (or derives from its source and id)',
      handle: ({ event, consume }) => consume(OPEN_ACCOUNT, { ...event.data, accountId: event.data.accountId ?? entityIdFor('account', event) }),
    },
  },
  routes: [
    {
      method: 'POST',
      path: '/accounts',
      emits: ['account.created'],
      async handle(req, { rt }) {
        const body = readNewAccount(req.body);
        const account = await commitChange<Account>(rt, OPEN_ACCOUNT, { accountId: newId(), ...body });
        return { status: 201, body: { ...account, token: rt.tokens.issue(account.id) }, headers: { Location: `/accounts/${account.id}` } };
      },
    },
    {
      method: 'GET',
      path: '/accounts/:accountId',
      handle: async (req, { rt }) => ({ status: 200, body: await findAccount(rt.sql, authorizeAccount(rt.tokens, req, 'accountId')) }),
    },
  ],
});
