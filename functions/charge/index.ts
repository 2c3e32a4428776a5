/**
 * charge: pays for reserved orders (`slot.reserved`), or lets them wait for
 * funds; resumes waiting payments on a deposit, declines them at their
 * deadline (a PingSource tick) or when their owner cancels.
 */
import { commitChange } from '../../lib/commit.js';
import { defineFunction, step } from '../../lib/function.js';
import { baseOptions } from '../../lib/runtime.js';
import { CANCEL_PAYMENT, CHARGE_ORDER, EXPIRE_PAYMENTS, RESUME_PAYMENTS, routines } from './domain.js';

/** The PingSource's CloudEvent type. */
export const PING_TYPE = 'dev.knative.sources.ping';

export default defineFunction({
  name: 'charge',
  role: 'Takes payment for reserved orders, or holds an order waiting for funds until a deposit, its deadline or its owner ends the wait.',
  options: baseOptions,
  setup: () => undefined,
  routines,
  consumes: {
    'slot.reserved': step(CHARGE_ORDER, ['payment.charged', 'payment.awaiting', 'payment.declined'], 'charges the amount, or waits for funds, or declines'),
    'account.deposited': step(RESUME_PAYMENTS, ['payment.charged'], "charges the account's waiting payments the deposit covers, oldest first", {
      fanOut: true,
    }),
    'order.cancellation.requested': step(CANCEL_PAYMENT, ['payment.declined'], 'declines the waiting payment (customer_cancelled)'),
  },
  sources: {
    [PING_TYPE]: {
      from: 'PingSource/payment-deadlines',
      emits: ['payment.declined'],
      describe: 'declines each waiting payment past its deadline (payment_timeout)',
      async handle(_event, { rt }) {
        const { expired } = await commitChange<{ expired: number }>(rt, EXPIRE_PAYMENTS, {});
        if (expired > 0) rt.log.info('payment deadlines passed', { expired });
      },
    },
  },
});
