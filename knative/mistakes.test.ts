/**
 * The validator provably catches the mistakes it exists for: each mutation of
 * the manifests is reported under its rule and path, and every schedule of
 * the shared PingSource table is taken or refused as Knative's webhook would.
 */
import { describe, expect, it } from 'vitest';
import { CRON_CASES } from './model/cron.testcases.js';
import { dig, type Manifest } from './model/index.js';
import { allProblems, containerOf, devByHand, named, sampleDocs } from './testing.js';
import { formatProblems, validateDocuments } from './validate.js';

describe('the validator catches the mistakes it exists for', () => {
  type Mutation = { name: string; rule: string; path: string; mutate(docs: Manifest[]): void };
  const service = (docs: Manifest[], name: string) => named(docs, 'serving.knative.dev', 'Service', name);
  const trigger = (docs: Manifest[], name: string) => named(docs, 'eventing.knative.dev', 'Trigger', name);
  const policy = (docs: Manifest[], name: string) => named(docs, 'eventing.knative.dev', 'EventPolicy', name);
  const set = (obj: unknown, keys: string[], value: unknown) => {
    const parent = dig(obj, ...keys.slice(0, -1)) as Record<string, unknown>;
    parent[keys[keys.length - 1]!] = value;
  };

  const mutations: Mutation[] = [
    {
      name: 'a misspelt field in a Service template (containerConcurency)',
      rule: 'schema',
      path: 'spec.template.spec.containerConcurency',
      mutate: (docs) => set(service(docs, 'charge'), ['spec', 'template', 'spec', 'containerConcurency'], 10),
    },
    {
      name: 'a filter attribute that is not a CloudEvents attribute name',
      rule: 'filter',
      path: 'spec.filter.attributes.event-type',
      mutate: (docs) => set(trigger(docs, 'charge-on-slot-reserved'), ['spec', 'filter', 'attributes'], { 'event-type': 'dev.ordersaga.slot.reserved' }),
    },
    {
      name: 'a Trigger whose subscriber is not a Service in the manifests',
      rule: 'reference',
      path: 'spec.subscriber.ref',
      mutate: (docs) => set(trigger(docs, 'charge-on-slot-reserved'), ['spec', 'subscriber', 'ref', 'name'], 'chrage'),
    },
    {
      name: "an autoscaling annotation on the Service's own metadata",
      rule: 'autoscaling',
      path: 'metadata.annotations.autoscaling.knative.dev/max-scale',
      mutate: (docs) => set(service(docs, 'deposit'), ['metadata', 'annotations'], { 'autoscaling.knative.dev/max-scale': '3' }),
    },
    {
      name: 'a backoffDelay that is not an ISO-8601 duration',
      rule: 'delivery',
      path: 'spec.delivery.backoffDelay',
      mutate: (docs) => set(trigger(docs, 'notify-on-order-confirmed'), ['spec', 'delivery', 'backoffDelay'], '2s'),
    },
    {
      name: 'a negative retry',
      rule: 'delivery',
      path: 'spec.delivery.retry',
      mutate: (docs) => set(named(docs, 'eventing.knative.dev', 'Broker', 'default'), ['spec', 'delivery', 'retry'], -1),
    },
    {
      name: 'an unknown Trigger spec field (kept by the CRD, rejected by the webhook)',
      rule: 'trigger-spec',
      path: 'spec.subscribers',
      mutate: (docs) => set(trigger(docs, 'notify-on-order-cancelled'), ['spec', 'subscribers'], []),
    },
    {
      name: 'a filters entry with two dialects',
      rule: 'filter',
      path: 'spec.filters[0]',
      mutate: (docs) =>
        set(trigger(docs, 'notify-on-order-cancelled'), ['spec', 'filters'], [{ exact: { type: 'dev.ordersaga.order.cancelled' }, prefix: { source: '/ordersaga' } }]),
    },
    {
      name: 'a filters entry with an empty value',
      rule: 'filter',
      path: 'spec.filters[0].exact.type',
      mutate: (docs) => set(trigger(docs, 'notify-on-order-cancelled'), ['spec', 'filters'], [{ exact: { type: '' } }]),
    },
    {
      name: 'a filters entry whose cesql expression does not parse',
      rule: 'filter',
      path: 'spec.filters[0].cesql',
      mutate: (docs) => set(trigger(docs, 'notify-on-order-cancelled'), ['spec', 'filters'], [{ cesql: "type = 'dev.ordersaga.order.cancelled' AND" }]),
    },
    {
      name: 'an EventPolicy while authentication-oidc is off (the webhook refuses to create one)',
      rule: 'eventpolicy',
      path: '',
      mutate: (docs) => set(named(docs, '', 'ConfigMap', 'config-features'), ['data', 'authentication-oidc'], 'disabled'),
    },
    {
      name: 'functions told sender authentication is off while config-features has it on',
      rule: 'convention',
      path: 'data.AUTHENTICATION_OIDC',
      mutate: (docs) => set(named(docs, '', 'ConfigMap', 'ordersaga-oidc'), ['data', 'AUTHENTICATION_OIDC'], 'disabled'),
    },
    {
      name: 'an EventPolicy admitting a ServiceAccount that is not in the manifests',
      rule: 'reference',
      path: 'spec.from[0].sub',
      mutate: (docs) => set(policy(docs, 'accounts-sends'), ['spec', 'from'], [{ sub: 'system:serviceaccount:ordersaga:acounts' }]),
    },
    {
      name: 'an EventPolicy naming a ServiceAccount by ref, which Knative never resolves (a no-op)',
      rule: 'eventpolicy',
      path: 'spec.from[0].ref',
      mutate: (docs) => set(policy(docs, 'accounts-sends'), ['spec', 'from'], [{ ref: { apiVersion: 'v1', kind: 'ServiceAccount', name: 'accounts' } }]),
    },
    {
      name: 'an EventPolicy whose target Broker is not in the manifests',
      rule: 'reference',
      path: 'spec.to[0].ref',
      mutate: (docs) => set(policy(docs, 'accounts-sends'), ['spec', 'to', '0', 'ref', 'name'], 'audit'),
    },
    {
      name: 'a Trigger to a Knative Service that states no audience (no token would be sent)',
      rule: 'convention',
      path: 'spec.subscriber.audience',
      mutate: (docs) => delete (dig(trigger(docs, 'charge-on-slot-reserved'), 'spec', 'subscriber') as Record<string, unknown>).audience,
    },
    {
      name: 'two Services sharing one ServiceAccount',
      rule: 'convention',
      path: 'spec.template.spec.serviceAccountName',
      mutate: (docs) => set(service(docs, 'charge'), ['spec', 'template', 'spec', 'serviceAccountName'], 'deposit'),
    },
    {
      name: 'a Service sending to K_SINK without its projected token for the Broker',
      rule: 'convention',
      path: 'spec.template.spec.volumes',
      mutate: (docs) => set(service(docs, 'accounts'), ['spec', 'template', 'spec', 'volumes'], []),
    },
    {
      name: 'a Trigger on a Broker that does not exist',
      rule: 'reference',
      path: 'spec.broker',
      mutate: (docs) => set(trigger(docs, 'deposit-on-deposit-requested'), ['spec', 'broker'], 'defualt'),
    },
    {
      name: 'a dead-letter sink that does not resolve',
      rule: 'reference',
      path: 'spec.delivery.deadLetterSink.ref',
      mutate: (docs) => set(trigger(docs, 'deposit-on-deposit-requested'), ['spec', 'delivery', 'deadLetterSink', 'ref', 'name'], 'dead-letter'),
    },
    {
      name: 'a Trigger without its own dead-letter sink (the Broker one does not apply)',
      rule: 'convention',
      path: 'spec.delivery.deadLetterSink',
      mutate: (docs) => delete (dig(trigger(docs, 'deposit-on-deposit-requested'), 'spec', 'delivery') as Record<string, unknown>).deadLetterSink,
    },
    {
      name: 'a PingSource whose sink is missing',
      rule: 'reference',
      path: 'spec.sink.ref',
      mutate: (docs) => set(named(docs, 'sources.knative.dev', 'PingSource', 'reconciler'), ['spec', 'sink', 'ref', 'name'], 'place-orders'),
    },
    {
      name: 'a PingSource schedule that is not cron',
      rule: 'pingsource',
      path: 'spec.schedule',
      mutate: (docs) => set(named(docs, 'sources.knative.dev', 'PingSource', 'reconciler'), ['spec', 'schedule'], '*/61 * * *'),
    },
    {
      name: 'a SinkBinding whose selector matches nothing',
      rule: 'reference',
      path: 'spec.subject.selector',
      mutate: (docs) => set(named(docs, 'sources.knative.dev', 'SinkBinding', 'ordersaga-emitters'), ['spec', 'subject', 'selector', 'matchLabels'], { 'ordersaga.dev/emit': 'true' }),
    },
    {
      name: 'an Ingress backend that is not a Service',
      rule: 'ingress',
      path: 'spec.rules[0].http.paths[0].backend.service.name',
      mutate: (docs) => set(named(docs, 'networking.k8s.io', 'Ingress', 'notify'), ['spec', 'rules', '0', 'http', 'paths', '0', 'backend', 'service', 'name'], 'notifier'),
    },
    {
      name: "an Ingress whose upstream-vhost names another function",
      rule: 'ingress',
      path: 'metadata.annotations.nginx.ingress.kubernetes.io/upstream-vhost',
      mutate: (docs) =>
        set(named(docs, 'networking.k8s.io', 'Ingress', 'notify'), ['metadata', 'annotations', 'nginx.ingress.kubernetes.io/upstream-vhost'], 'deposit.ordersaga.svc.cluster.local'),
    },
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
      name: 'a ConfigMap value YAML reads as a number',
      rule: 'config',
      path: 'data.DB_POOL_MAX',
      mutate: (docs) => set(named(docs, '', 'ConfigMap', 'ordersaga-config'), ['data', 'DB_POOL_MAX'], 5),
    },
    {
      name: 'K_SINK set by hand on a Service',
      rule: 'convention',
      path: 'spec.template.spec.containers[0].env',
      mutate: (docs) => ((containerOf(service(docs, 'notify')).env as unknown[]).push({ name: 'K_SINK', value: 'http://broker' })),
    },
    {
      name: 'a max-scale that breaks the connection budget',
      rule: 'budget',
      path: 'data.DB_POOL_MAX',
      mutate: (docs) => set(service(docs, 'place-order'), ['spec', 'template', 'metadata', 'annotations', 'autoscaling.knative.dev/max-scale'], '500'),
    },
    {
      name: 'a probe on a port other than the container port',
      rule: 'serving',
      path: 'spec.template.spec.containers[0].readinessProbe.httpGet.port',
      mutate: (docs) => set(containerOf(service(docs, 'deposit')), ['readinessProbe', 'httpGet', 'port'], 9090),
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
