/**
 * The wire format of every event type, pinned: each example is changed in
 * every way a fixed table of members and values allows (a member dropped, a
 * member set to each value, one added), and what the validators make of each
 * variant (accepted, or refused with which problems) is compared with a
 * committed record. The variants come from the examples and the table, never
 * from the schemas, so a change to how the schemas are written that changes
 * what they accept, or what a refusal says, fails here.
 * Run `npx vitest run events/wire-format.test.ts -u` only for a wire change
 * that is meant.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../lib/errors.js';
import { EVENT_NAMES, validateData, type EventName } from './index.js';

const exampleOf = (name: EventName): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`examples/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const examples = new Map(EVENT_NAMES.map((name) => [name, exampleOf(name)]));

/** Every member any example carries, the optional one none does, and one no event type has. */
const MEMBERS = [...new Set([...[...examples.values()].flatMap((e) => Object.keys(e)), 'payWithin', 'unexpected'])].sort();

/** Values on both sides of each kind of limit the catalogue uses, and of the wrong JSON type for each member. */
const VALUES: readonly unknown[] = [
  null,
  true,
  -1,
  0,
  1,
  1.5,
  200,
  201,
  1000,
  1001,
  86_400,
  86_401,
  1_000_000,
  1_000_001,
  100_000_000_000,
  100_000_000_001,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  '',
  'x',
  'x'.repeat(200),
  'x'.repeat(201),
  'ada@example.com',
  `${'a'.repeat(243)}@example.com`,
  'not an email',
  'c5d2e1f0-9a8b-4c7d-8e6f-5a4b3c2d1e0f',
  'c5d2e1f0-9a8b-4c7d-8e6f-5a4b3c2d1e0',
  '2026-12-02T12:00:30.000Z',
  '2026-12-02',
  'sold_out',
  'unknown_slot',
  'insufficient_funds',
  'payment_timeout',
  'customer_cancelled',
  'happy',
  'sorrow',
  'dry-run',
  'sent',
  [],
  {},
];
/** A value each member takes in some example (payWithin, in none, takes 30). */
const SOME_VALUE = new Map<string, unknown>([['payWithin', 30], ...[...examples.values()].flatMap((e) => Object.entries(e))]);
const labelOf = (value: unknown) => (typeof value === 'string' && value.length > 40 ? `"${value.slice(0, 12)}…" (${value.length} characters)` : JSON.stringify(value));

/** Problems of a refusal as a problem document lists them: `path message`. */
function problemsOf(name: EventName, data: unknown): string[] | undefined {
  try {
    validateData(name, data);
    return undefined;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return err.errors.map((e) => `${e.path} ${e.message}`);
  }
}

interface Verdicts {
  /** Members whose removal leaves the example valid. */
  optional: string[];
  /** Per member, the values it may take (members that take none are left out). */
  accepts: Record<string, string[]>;
  /** Per way of changing the example, every distinct problem its refused variants name. */
  refusals: Record<string, string[]>;
}

function verdictsOf(name: EventName): Verdicts {
  const example = examples.get(name)!;
  const refusals: Record<string, string[]> = {};
  /** Whether each variant is accepted; the problems of those refused are kept under `change`. */
  const check = (change: string, variants: readonly unknown[]) =>
    variants.map((data) => {
      const found = problemsOf(name, data);
      if (found) refusals[change] = [...new Set([...(refusals[change] ?? []), ...found])].sort();
      return found === undefined;
    });
  const optional = Object.keys(example).filter((member) => check(`without ${member}`, [Object.fromEntries(Object.entries(example).filter(([k]) => k !== member))])[0]);
  const accepts: Record<string, string[]> = {};
  for (const member of MEMBERS) {
    const verdicts = check(`${member} set`, VALUES.map((value) => ({ ...example, [member]: value })));
    const values = VALUES.filter((_, i) => verdicts[i]).map(labelOf);
    if (values.length > 0) accepts[member] = values;
  }
  check('not an object', [null, [], 'x', 1, [example]]);
  return { optional, accepts, refusals };
}

describe('the wire format', () => {
  it('accepts every example as it is', () => {
    for (const name of EVENT_NAMES) expect(problemsOf(name, examples.get(name)), name).toBeUndefined();
  });

  it('accepts and refuses exactly the variants of each example that it did when it was recorded, with the same problems', async () => {
    const verdicts = Object.fromEntries(EVENT_NAMES.map((name) => [name, verdictsOf(name)]));
    await expect(`${JSON.stringify(verdicts, null, 2)}\n`).toMatchFileSnapshot('__snapshots__/wire-format.json');
  });

  it('refuses, on every type, a member that no event type has and each member that only other types have', () => {
    for (const name of EVENT_NAMES) {
      const example = examples.get(name)!;
      expect(problemsOf(name, { ...example, unexpected: true }), name).toEqual(["/ unknown property 'unexpected'"]);
      const ownMembers = Object.keys(verdictsOf(name).accepts);
      const foreign = [...SOME_VALUE].filter(([member]) => !ownMembers.includes(member));
      expect(foreign.length, name).toBeGreaterThan(0);
      for (const [member, value] of foreign) {
        expect(problemsOf(name, { ...example, [member]: value }), `${name} with ${member}`).toEqual([`/ unknown property '${member}'`]);
      }
    }
  });
});
