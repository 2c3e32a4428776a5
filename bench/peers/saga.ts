/**
 * The journey, readable in one place, as the peers run it: the same steps in
 * the same order as ordersaga's choreography (SPEC §2), here orchestrated by
 * a durable-execution engine. `run` is the engine's durable step (Restate's
 * `ctx.run`, DBOS's `DBOS.runStep`): a step whose result is in the journal is
 * not run again, and one that may have run before its result was journalled
 * is run again, which the steps make harmless.
 */
import type { FinishedOrder, NewAccount, OrderRequest, Steps } from './steps.ts';

/** Runs `action` as one durable step named `name`, and resolves with its journalled result. */
export type RunStep = <T>(name: string, action: () => Promise<T>) => Promise<T>;

/**
 * place (pending) → reserve seats → charge → confirm, or: no seats → cancel;
 * declined → release the seats (the compensation) → cancel
 * insufficient_funds. Then the order's one letter.
 */
export async function orderSaga(run: RunStep, steps: Steps, request: OrderRequest): Promise<FinishedOrder> {
  const order = await run('place order', () => steps.placeOrder(request));
  const seats = await run('reserve seats', () => steps.reserveSeats(order));
  let finished: FinishedOrder;
  if (seats !== 'reserved') {
    finished = await run('cancel order', () => steps.finishOrder(order, seats));
  } else if ((await run('charge', () => steps.charge(order))) === 'declined') {
    await run('release seats', () => steps.releaseSeats(order));
    finished = await run('cancel order', () => steps.finishOrder(order, 'insufficient_funds'));
  } else {
    finished = await run('confirm order', () => steps.finishOrder(order, null));
  }
  await run('send letter', () => steps.sendLetter({ ...finished, accountId: order.accountId, slotId: order.slotId, seats: order.seats }));
  return finished;
}

/** What a customer's account is opened with: the account, then its deposit. */
export interface AccountRequest extends NewAccount {
  deposit: number;
}

/** accounts, then deposit: two steps, as in ordersaga. */
export async function openAccountSaga(run: RunStep, steps: Steps, request: AccountRequest): Promise<{ balance: number }> {
  await run('open account', () => steps.openAccount(request));
  const balance = await run('deposit', () => steps.deposit({ accountId: request.accountId, depositId: request.accountId, amount: request.deposit }));
  return { balance };
}
