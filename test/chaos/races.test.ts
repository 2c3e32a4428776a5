/**
 * Chaos: races. Many customers at once for the last seats, and many
 * withdrawals and deposits at once on one balance: no seat is oversold, no
 * balance goes negative, and every cent is in the ledger.
 */
import { describe, expect, it } from 'vitest';
import { newId } from '../../lib/ids.js';
import { checkInvariants } from '../../lib/invariants.js';
import { mapLimit, outcomeOf, useChaosStack, waitUntilSettled } from './harness.js';
import { clientSummary, invariantSummary, printReport } from './report.js';

const BUYERS = 30;
const SEATS = 10;
const PRICE = 1000;

const OPENING_BALANCE = 300;
const WITHDRAWALS = 40;
const WITHDRAWAL = 30;
const DEPOSITS = 20;
const DEPOSIT = 10;

describe('chaos: races', () => {
  const chaosStack = useChaosStack();

  it(`${BUYERS} funded buyers at once for ${SEATS} seats: exactly ${SEATS} confirmed, ${BUYERS - SEATS} cancelled sold_out`, async () => {
    const chaos = chaosStack();
    const { client, db, tally } = chaos;
    const slotId = await client.createSlot('Last seats', SEATS, PRICE);
    const buyers = await mapLimit(Array.from({ length: BUYERS }), 8, () => client.openAccount(PRICE));

    const answers = await Promise.all(buyers.map((buyer) => client.placeOrder(buyer, slotId, 20)));
    const settlement = await waitUntilSettled(db);

    const orders = (await db('orders').whereIn('id', answers.map((a) => a.id)).select('id', 'account_id', 'status', 'reason')) as {
      id: string;
      account_id: string;
      status: string;
      reason: string | null;
    }[];
    const confirmed = new Set(orders.filter((o) => o.status === 'confirmed').map((o) => o.account_id));
    const balances = await mapLimit(buyers, 8, (b) => client.balance(b));
    const slot = (await client.send('GET', `/slots/${slotId}`)).body as { reserved: number; available: number };
    const invariants = await checkInvariants(db, { settled: true });
    printReport('races (seats)', {
      injected: `${BUYERS} concurrent orders for ${SEATS} seats`,
      outcome: await outcomeOf(db),
      deliveries: tally.attempts,
      duplicatesAbsorbed: chaos.duplicatesAbsorbed(),
      lost: settlement.pending,
      invariants,
      details: [
        `answered terminal within Prefer: wait=${answers.filter((a) => a.status !== 'pending').length}/${BUYERS}; slot reserved=${slot.reserved} available=${slot.available}`,
        clientSummary(client.stats),
      ],
    });

    expect(settlement.settled).toBe(true);
    expect(orders).toHaveLength(BUYERS);
    expect(orders.filter((o) => o.status === 'confirmed')).toHaveLength(SEATS);
    expect(orders.filter((o) => o.status === 'cancelled' && o.reason === 'sold_out')).toHaveLength(BUYERS - SEATS);
    expect(slot).toMatchObject({ reserved: SEATS, available: 0 });
    // A winner paid exactly once; everyone else kept every cent.
    buyers.forEach((b, i) => expect(balances[i]).toBe(confirmed.has(b.id) ? 0 : PRICE));
    expect(invariants.violations).toEqual([]);
  });

  it(`${WITHDRAWALS} withdrawals of ${WITHDRAWAL} and ${DEPOSITS} deposits of ${DEPOSIT} at once on ${OPENING_BALANCE}: never negative, every cent accounted for`, async () => {
    const chaos = chaosStack();
    const { client, db } = chaos;
    const account = await client.openAccount(OPENING_BALANCE);
    // Deposits spread among the withdrawals, each with a key of its own.
    const moves = Array.from({ length: WITHDRAWALS + DEPOSITS }, (_, i) => ({
      kind: i % 3 === 2 ? ('deposit' as const) : ('withdrawal' as const),
      key: newId(),
    }));
    const run = (m: (typeof moves)[number]) => (m.kind === 'deposit' ? client.deposit(account, DEPOSIT, m.key) : client.withdraw(account, WITHDRAWAL, m.key));

    const answers = await Promise.all(moves.map(run));

    const of = (kind: string, status: number) => answers.filter((a, i) => moves[i]!.kind === kind && a.status === status);
    const accepted = of('withdrawal', 201);
    const refused = of('withdrawal', 409).filter((a) => /less than/.test((a.body as { detail?: string }).detail ?? ''));
    const deposited = of('deposit', 201);
    const reported = [...accepted, ...deposited].map((a) => (a.body as { balance: number }).balance);
    const balance = await client.balance(account);

    // The same keys again, all at once: every answer replayed as it was, nothing moved.
    const replays = await Promise.all(moves.map(run));
    const balanceAfterReplays = await client.balance(account);

    const ledger = (await db('ledger').where({ account_id: account.id }).select('kind').count<{ kind: string; count: number }[]>('* as count').sum('amount as total').groupBy('kind')) as {
      kind: string;
      count: number;
      total: number;
    }[];
    const entries = Object.fromEntries(ledger.map((l) => [l.kind, { count: Number(l.count), total: Number(l.total) }]));
    const invariants = await checkInvariants(db, { settled: true });
    const block = [
      `[chaos] races (money): injected ${WITHDRAWALS} withdrawals of ${WITHDRAWAL} + ${DEPOSITS} deposits of ${DEPOSIT} at once on a balance of ${OPENING_BALANCE}; ` +
        `withdrawals accepted=${accepted.length} refused=${refused.length} (insufficient), deposits accepted=${deposited.length}; ` +
        `final balance=${balance} (= ${OPENING_BALANCE} + ${DEPOSITS * DEPOSIT} − ${WITHDRAWAL}×${accepted.length}); lowest reported=${Math.min(...reported)}; ` +
        `replays: ${replays.filter((r) => r.headers['idempotent-replayed'] === 'true').length}/${moves.length}, balance after=${balanceAfterReplays}; invariants: ${invariantSummary(invariants)}`,
      `[chaos]   ledger: ${JSON.stringify(entries)}; ${clientSummary(client.stats)}`,
    ].join('\n');
    console.log(block);

    // Every request got its answer, and only these two.
    expect(accepted.length + refused.length).toBe(WITHDRAWALS);
    expect(deposited).toHaveLength(DEPOSITS);
    // The balance is the ledger's arithmetic, and never went below zero.
    expect(balance).toBe(OPENING_BALANCE + DEPOSITS * DEPOSIT - WITHDRAWAL * accepted.length);
    expect(Math.min(balance, ...reported)).toBeGreaterThanOrEqual(0);
    // What the money allows: the opening 300 pays for at least 10 withdrawals whatever the
    // order, all the money (500) for at most 16; a refusal means the balance was short then.
    expect(accepted.length).toBeGreaterThanOrEqual(Math.floor(OPENING_BALANCE / WITHDRAWAL));
    expect(accepted.length).toBeLessThanOrEqual(Math.floor((OPENING_BALANCE + DEPOSITS * DEPOSIT) / WITHDRAWAL));
    if (refused.length > 0) expect(Math.min(...reported)).toBeLessThan(WITHDRAWAL);
    expect(entries).toEqual({
      deposit: { count: DEPOSITS + 1, total: OPENING_BALANCE + DEPOSITS * DEPOSIT },
      withdrawal: { count: accepted.length, total: WITHDRAWAL * accepted.length },
    });
    // Replayed keys change nothing (SPEC §7.6).
    replays.forEach((r, i) => {
      expect(r.headers['idempotent-replayed']).toBe('true');
      expect({ status: r.status, body: r.body }).toEqual({ status: answers[i]!.status, body: answers[i]!.body });
    });
    expect(balanceAfterReplays).toBe(balance);
    expect(invariants.violations).toEqual([]);
  });
});

