/** notify: the customer's letter for each terminal order, and the account's notifications. */
import { authorizeAccount } from '../../lib/auth.js';
import { opt } from '../../lib/config.js';
import { defineFunction, type Consumer, type Context } from '../../lib/function.js';
import type { Mailer } from '../../lib/mailer.js';
import { baseOptions } from '../../lib/runtime.js';
import type { EventName } from '../../events/index.js';
import { listNotifications, notifyCustomer, routines, type Outcome } from './domain.js';

interface Deps {
  mailer: Mailer;
}

/** The letter for a terminal order, in one transaction with its inbox record. */
function letter<N extends EventName & ('order.confirmed' | 'order.cancelled')>(kind: Outcome['letter'], describe: string): Consumer<N, Deps> {
  return {
    emits: ['notification.sent'],
    describe,
    handle: ({ event, consume }, { rt, deps }: Context<Deps>) => notifyCustomer(rt.sql, deps.mailer, { letter: kind, order: event.data } as Outcome, consume),
  };
}

export default defineFunction({
  name: 'notify',
  role: "Writes each customer's letter about an order, through SES (dry-run by default), once per order.",
  options: {
    ...baseOptions,
    mailerMode: opt.oneOf('MAILER_MODE', 'dry-run records emails in notifications; ses sends them', ['dry-run', 'ses'] as const, 'dry-run'),
    mailerRegion: opt.string('MAILER_REGION', 'AWS region of SES', 'us-east-1'),
    mailFrom: opt.string('MAIL_FROM', 'sender address of letters', 'orders@ordersaga.dev'),
  },
  // The AWS SDK loads only in this function's process.
  async setup(_rt, config): Promise<Deps> {
    const { createMailer } = await import('../../lib/mailer.js');
    return { mailer: createMailer({ mode: config.mailerMode, region: config.mailerRegion, from: config.mailFrom }) };
  },
  routines,
  consumes: {
    'order.confirmed': letter('happy', 'sends the happy letter'),
    'order.cancelled': letter('sorrow', 'sends the sorrow letter, with the reason'),
  },
  routes: [
    {
      method: 'GET',
      path: '/accounts/:accountId/notifications',
      handle: async (req, { rt }) => ({ status: 200, body: await listNotifications(rt.sql, authorizeAccount(rt.tokens, req, 'accountId')) }),
    },
  ],
});
