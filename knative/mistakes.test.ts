/**
 * The validator provably catches the mistakes it exists for: each mutation of
 * the manifests (most of them in mistakes.yaml) is reported under its rule and
 * path, and every schedule of the shared PingSource table is taken or refused
 * as Knative's webhook would.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CRON_CASES } from './model/cron.testcases.js';
import { dig, type Manifest } from './model/index.js';
import { allProblems, containerOf, devByHand, named, sampleDocs } from './testing.js';
import { formatProblems, validateDocuments } from './validate.js';

describe('the validator catches the mistakes it exists for', () => {
  type Mutation = { name: string; rule: string; path: string; mutate(docs: Manifest[]): void };
  /** A mutation of mistakes.yaml: one field of one document set (`to`) or deleted. */
  type FieldMutation = Omit<Mutation, 'mutate'> & { doc: [string, string, string]; set?: string[]; delete?: string[]; to?: unknown };
  const service = (docs: Manifest[], name: string) => named(docs, 'serving.knative.dev', 'Service', name);
  const set = (obj: unknown, keys: string[], value: unknown) => {
    const parent = dig(obj, ...keys.slice(0, -1)) as Record<string, unknown>;
    parent[keys[keys.length - 1]!] = value;
  };
  const fieldMutations = parse(readFileSync(new URL('./mistakes.yaml', import.meta.url), 'utf8')) as FieldMutation[];

  const mutations: Mutation[] = [
    ...fieldMutations.map(({ doc, set: keys, delete: deleted, to, ...m }) => ({
      ...m,
      mutate: (docs: Manifest[]) => {
        const target = named(docs, ...doc);
        if (deleted) delete (dig(target, ...deleted.slice(0, -1)) as Record<string, unknown>)[deleted[deleted.length - 1]!];
        else set(target, keys!, to);
      },
    })),
    {
      name: 'an env reference to a key the Secret does not have',
      rule: 'reference',
      path: 'spec.template.spec.containers[0].env',
      mutate: (docs) => {
        const env = (containerOf(service(docs, 'reserve-slot')).env ?? []) as Record<string, unknown>[];
        set(env.find((e) => e.name === 'ADMIN_TOKEN'), ['valueFrom', 'secretKeyRef', 'key'], 'admin_token');
      },
    },
    {
      name: 'K_SINK set by hand on a Service',
      rule: 'convention',
      path: 'spec.template.spec.containers[0].env',
      mutate: (docs) => ((containerOf(service(docs, 'notify')).env as unknown[]).push({ name: 'K_SINK', value: 'http://broker' })),
    },
  ];

  it('finds nothing wrong with the documents before they are mutated', () => {
    const problems = allProblems(sampleDocs());
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it('without kubectl starts from what the dev overlay is made of, sender authentication on, which passes too', () => {
    const docs = devByHand();
    expect(docs.filter((d) => d.kind === 'EventPolicy').length).toBeGreaterThan(0);
    expect(named(docs, '', 'ConfigMap', 'ordersaga-oidc').data).toMatchObject({ AUTHENTICATION_OIDC: 'enabled' });
    const problems = allProblems(docs);
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it.each(mutations)('reports $name', ({ rule, path: where, mutate }) => {
    const docs = sampleDocs();
    mutate(docs);
    const problems = allProblems(docs);
    expect(problems.length, 'no problem was reported').toBeGreaterThan(0);
    expect(
      problems.some((p) => p.rule === rule && p.path.startsWith(where)),
      `expected a [${rule}] problem at ${where}; got:\n${formatProblems(problems)}`,
    ).toBe(true);
  });
});

describe('PingSource schedules in the validator (the shared table, knative/model/cron.testcases.ts)', () => {
  it.each(CRON_CASES)('$schedule (timezone $timezone)', ({ schedule, timezone, refused }) => {
    const docs = sampleDocs();
    const ping = named(docs, 'sources.knative.dev', 'PingSource', 'reconciler');
    Object.assign(ping.spec as Record<string, unknown>, { schedule, ...(timezone ? { timezone } : {}) });
    const problems = validateDocuments(docs).filter((p) => p.rule === 'pingsource');
    expect(problems.map((p) => `${p.path}: ${p.message.slice(0, refused?.message.length)}`)).toEqual(refused ? [`spec.${refused.field}: ${refused.message}`] : []);
  });
});
