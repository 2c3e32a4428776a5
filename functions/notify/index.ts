/** notify: the customer's letter for each terminal order, and the account's notifications. */
import { opt, readConfig } from '../../lib/config.js';
import { createHttpFunction, type HttpFunction } from '../../lib/http-function.js';
import { createMailer, type Mailer } from '../../lib/mailer.js';
import { authorizeAccount, idParam } from '../../lib/routes.js';
import { baseOptions, createRuntime, type Runtime } from '../../lib/runtime.js';
import { listNotifications, notifyCustomer } from './domain.js';

export const options = {
  ...baseOptions,
  mailerMode: opt.oneOf('MAILER_MODE', 'dry-run records emails in notifications; ses sends them', ['dry-run', 'ses'] as const, 'dry-run'),
  mailerRegion: opt.string('MAILER_REGION', 'AWS region of SES', 'us-east-1'),
  mailFrom: opt.string('MAIL_FROM', 'sender address of letters', 'orders@ordersaga.dev'),
};

export function createNotifyFunction(rt: Runtime, mailer: Mailer): HttpFunction {
  return createHttpFunction(rt, {
    routes: [
      {
        method: 'GET',
        path: '/accounts/:accountId/notifications',
        async handle(req) {
          const accountId = authorizeAccount(rt, req, 'accountId');
          return { status: 200, body: await listNotifications(rt.db, accountId) };
        },
      },
    ],
    events: {
      'order.confirmed': (tx, event) => notifyCustomer(tx, mailer, { letter: 'happy', order: event.data }),
      'order.cancelled': (tx, event) => notifyCustomer(tx, mailer, { letter: 'sorrow', order: event.data }),
    },
  });
}

export function fromEnv(env: NodeJS.ProcessEnv = process.env): HttpFunction {
  const config = readConfig(options, env);
  const mailer = createMailer({ mode: config.mailerMode, region: config.mailerRegion, from: config.mailFrom });
  return createNotifyFunction(createRuntime('notify', config), mailer);
}
