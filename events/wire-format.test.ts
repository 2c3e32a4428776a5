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
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ValidationError } from '../lib/errors.js';
import { describeErrors } from '../lib/validate.js';
import { flatSchemaOf } from './flat.js';
import { EVENT_NAMES, validateData, type EventName } from './index.js';

// ajv-formats ships CommonJS with a default export.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

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
const problemsIn = (errors: readonly { path: string; message: string }[]) => errors.map((e) => `${e.path} ${e.message}`);

/** What the catalogue's validator says of `data`: undefined when it accepts it, else the problems. */
function problemsOf(name: EventName, data: unknown): string[] | undefined {
  try {
    validateData(name, data);
    return undefined;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return problemsIn(err.errors);
  }
}

type Variant = { change: 'without' | 'set'; member: string; value?: unknown; data: unknown } | { change: 'not an object'; data: unknown };
const labelOfVariant = (v: Variant) => (v.change === 'not an object' ? `${v.change}: ${labelOf(v.data)}` : v.change === 'without' ? `without ${v.member}` : `${v.member} set to ${labelOf(v.value)}`);

/** The example of `name` without each of its members, with each member set to each value, and not an object at all. */
function variantsOf(name: EventName): Variant[] {
  const example = examples.get(name)!;
  return [
    ...Object.keys(example).map((member): Variant => ({ change: 'without', member, data: Object.fromEntries(Object.entries(example).filter(([k]) => k !== member)) })),
    ...MEMBERS.flatMap((member) => VALUES.map((value): Variant => ({ change: 'set', member, value, data: { ...example, [member]: value } }))),
    ...[null, [], 'x', 1, [example]].map((data): Variant => ({ change: 'not an object', data })),
  ];
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
  const verdicts: Verdicts = { optional: [], accepts: {}, refusals: {} };
  for (const variant of variantsOf(name)) {
    const found = problemsOf(name, variant.data);
    const change = variant.change === 'not an object' ? variant.change : variant.change === 'without' ? `without ${variant.member}` : `${variant.member} set`;
    if (found) verdicts.refusals[change] = [...new Set([...(verdicts.refusals[change] ?? []), ...found])].sort();
    else if (variant.change === 'without') verdicts.optional.push(variant.member);
    else if (variant.change === 'set') (verdicts.accepts[variant.member] ??= []).push(labelOf(variant.value));
  }
  return verdicts;
}

describe('the wire format', () => {
  it('accepts every example as it is', () => {
    for (const name of EVENT_NAMES) expect(problemsOf(name, examples.get(name)), name).toBeUndefined();
  });

  it('accepts and refuses exactly the variants of each example that it did when it was recorded, with the same problems', async () => {
    const verdicts = Object.fromEntries(EVENT_NAMES.map((name) => [name, verdictsOf(name)]));
    await expect(`${JSON.stringify(verdicts, null, 2)}\n`).toMatchFileSnapshot('__snapshots__/wire-format.json');
  });

  it('reads the same flattened, as the AsyncAPI document publishes it, to a draft-07 validator: each variant accepted or refused alike, with the same problems', () => {
    const draft07 = addFormats(new Ajv({ allErrors: true, strict: true, strictTypes: false, keywords: ['x-ordersaga-kind'] }));
    for (const name of EVENT_NAMES) {
      const validate = draft07.compile(flatSchemaOf(name));
      const differing = variantsOf(name).filter((variant) => {
        const flat = validate(variant.data) ? undefined : problemsIn(describeErrors(validate.errors)).sort();
        return JSON.stringify(flat) !== JSON.stringify(problemsOf(name, variant.data)?.sort());
      });
      expect(differing.map(labelOfVariant), name).toEqual([]);
    }
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
