/** What the tests of the k6 scripts' pure modules build their bodies from. */

/** A fixed UUID (v4 shape), distinct per `n`. */
export const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** An order body as the API answers it (confirmed, 1000 for 1 seat), with `fields` changed. */
export function orderBody(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: ID(2),
    accountId: ID(1),
    slotId: ID(3),
    seats: 1,
    amount: 1000,
    status: 'confirmed',
    reason: null,
    payWithin: 0,
    paymentDeadline: null,
    ...fields,
  };
}
