/**
 * The Knative manifests, checked offline: every overlay rendered by
 * `kubectl kustomize` passes the upstream schemas, the webhook rules they
 * miss and the project's conventions (the mistakes it catches are in
 * mistakes.test.ts); and the manifests agree with the event catalogue
 * (functions/registry.test.ts checks them against the saga map).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dig, loadDirectory, nameOf } from './model/index.js';
import { allProblems, BASE_DIR, byKind, containerOf, envOf, KUBECTL, named, NO_KUBECTL, render, services, TARGETS, triggers } from './testing.js';
import { checkConventions, connectionBudget, formatProblems, REPO_ROOT, sharedSchemasDir, validateDocuments, validateSkaffold, type Manifest } from './validate.js';

describe('the shared schemas', () => {
  it('are where the validator looks for them, beside the repository', () => {
    expect(existsSync(path.join(sharedSchemasDir(), 'knative', 'jsonschema-strict'))).toBe(true);
    expect(existsSync(path.join(sharedSchemasDir(), 'skaffold', 'v4beta11.json'))).toBe(true);
  });

  it('are draft-07, the dialect the validator compiles them with', () => {
    const folder = path.join(sharedSchemasDir(), 'knative', 'jsonschema-strict');
    const files = readdirSync(folder).filter((f) => f.endsWith('.json'));
    // A schema that names no dialect (the EventPolicy one) is read as draft-07, Ajv's default.
    const dialects = new Set(files.map((f) => (JSON.parse(readFileSync(path.join(folder, f), 'utf8')) as { $schema?: string }).$schema ?? 'http://json-schema.org/draft-07/schema#'));
    const skaffold = JSON.parse(readFileSync(path.join(sharedSchemasDir(), 'skaffold', 'v4beta11.json'), 'utf8')) as { $schema?: string };
    expect([...dialects, skaffold.$schema]).toEqual(['http://json-schema.org/draft-07/schema#', 'http://json-schema.org/draft-07/schema#']);
  });
});

describe('knative/base as the local stand-in reads it (each file, no kustomize)', () => {
  const base = loadDirectory(BASE_DIR);

  it('parses and passes every rule and convention', () => {
    const problems = [...base.problems, ...allProblems(base.docs)];
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it('lists every one of its files in kustomization.yaml, so the cluster gets what the stand-in runs', () => {
    const text = readFileSync(path.join(BASE_DIR, 'kustomization.yaml'), 'utf8');
    const listed = [...text.matchAll(/^\s*-\s*(\S+\.ya?ml)\s*$/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(base.files);
  });

  it('holds only whole documents, no patches', () => {
    for (const doc of base.docs) {
      expect(doc.apiVersion, nameOf(doc)).toBeTypeOf('string');
      expect(JSON.stringify(doc)).not.toContain('$patch');
    }
  });

  it.skipIf(!KUBECTL)(`renders to the very same documents with kustomize${KUBECTL ? '' : ` (${NO_KUBECTL})`}`, () => {
    const key = (d: Manifest) => `${String(d.kind)}/${nameOf(d)}`;
    expect(render('knative/base').map(key).sort()).toEqual(base.docs.map(key).sort());
  });
});

describe.each(TARGETS)('%s rendered by kubectl kustomize', (target) => {
  it.skipIf(!KUBECTL)(`passes the strict schemas and the webhook rules${KUBECTL ? '' : ` (${NO_KUBECTL})`}`, () => {
    const problems = validateDocuments(render(target));
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it.skipIf(!KUBECTL)(`follows the project's conventions${KUBECTL ? '' : ` (${NO_KUBECTL})`}`, () => {
    const problems = checkConventions(render(target));
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it.skipIf(!KUBECTL)(`keeps the functions' connection pools within PostgreSQL's max_connections${KUBECTL ? '' : ` (${NO_KUBECTL})`}`, () => {
    const budget = connectionBudget(render(target));
    expect(budget).toBeDefined();
    const total = budget!.uses.reduce((sum, u) => sum + u.maxScale * u.pool, 0);
    expect(budget!.uses).toHaveLength(services(render(target)).length);
    expect(total).toBeLessThanOrEqual(budget!.max - budget!.reserved);
  });
});

describe.skipIf(!KUBECTL)(`the overlays${KUBECTL ? '' : ` (${NO_KUBECTL})`}`, () => {
  const annotation = (doc: Manifest, key: string) => dig(doc, 'spec', 'template', 'metadata', 'annotations', key);

  it('dev runs PostgreSQL in the cluster, migrates with the function image, and scales every function to zero', () => {
    const docs = render('knative/overlays/dev');
    expect(named(docs, 'apps', 'StatefulSet', 'postgres')).toBeDefined();
    expect(named(docs, '', 'Service', 'postgres')).toBeDefined();
    const job = named(docs, 'batch', 'Job', 'ordersaga-migrate');
    const container = dig(job, 'spec', 'template', 'spec', 'containers', '0') as Record<string, unknown>;
    expect(container.image).toBe('ordersaga');
    expect(container.command).toEqual(['node', 'dist/migrate.js']);
    const url = String(dig(named(docs, '', 'Secret', 'ordersaga-db'), 'stringData', 'url'));
    expect(new URL(url).hostname).toBe('postgres.ordersaga.svc.cluster.local');
    for (const s of services(docs)) expect(annotation(s, 'autoscaling.knative.dev/min-scale'), nameOf(s)).toBe('0');
  });

  it('prod uses a Kafka Broker, an external PostgreSQL and keeps the saga warm', () => {
    const docs = render('knative/overlays/prod');
    const broker = named(docs, 'eventing.knative.dev', 'Broker', 'default');
    expect(dig(broker, 'metadata', 'annotations', 'eventing.knative.dev/broker.class')).toBe('Kafka');
    expect(dig(broker, 'spec', 'config')).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', name: 'kafka-broker-config', namespace: 'knative-eventing' });
    expect(byKind(docs, 'apps', 'StatefulSet')).toEqual([]);
    expect(named(docs, 'batch', 'Job', 'ordersaga-migrate')).toBeDefined();
    for (const name of ['deposit', 'place-order', 'charge', 'reserve-slot']) {
      expect(Number(annotation(named(docs, 'serving.knative.dev', 'Service', name), 'autoscaling.knative.dev/min-scale'))).toBeGreaterThan(0);
    }
  });
});

describe('the manifests and the event catalogue agree', () => {
  const docs = KUBECTL ? render('knative/overlays/dev') : loadDirectory(BASE_DIR).docs;
  const eventSchemas = new Set(
    readdirSync(path.join(REPO_ROOT, 'events', 'schemas'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length)),
  );
  const TYPE_PREFIX = 'dev.ordersaga.';
  // An observer's Trigger (the console's catch-all) is no saga edge; knative/console.test.ts checks it.
  const isObserver = (trigger: Manifest) => dig(trigger, 'metadata', 'labels', 'ordersaga.dev/observer') === 'true';
  const routes = triggers(docs).filter((t) => !isObserver(t)).map((t) => ({
    name: nameOf(t),
    type: String(dig(t, 'spec', 'filter', 'attributes', 'type')),
    subscriber: String(dig(t, 'spec', 'subscriber', 'ref', 'name')),
  }));

  it('filters every Trigger on a type of the event catalogue (events/schemas/)', () => {
    for (const r of routes) {
      expect(r.type.startsWith(TYPE_PREFIX), r.name).toBe(true);
      expect(eventSchemas.has(r.type.slice(TYPE_PREFIX.length)), `${r.name}: ${r.type} has no schema`).toBe(true);
    }
  });

  it('declares the env each function reads, from the ConfigMaps and Secrets it is documented to use', () => {
    const secret = (name: string, key: string) => ({ secretKeyRef: { name, key } });
    const config = (name: string, key: string) => ({ configMapKeyRef: { name, key } });
    const common = {
      DATABASE_URL: secret('ordersaga-db', 'url'),
      DB_POOL_MAX: config('ordersaga-config', 'DB_POOL_MAX'),
      TOKEN_SECRET: secret('ordersaga-auth', 'token-secret'),
    };
    const admin = { ADMIN_TOKEN: secret('ordersaga-auth', 'admin-token') };
    const extra: Record<string, Record<string, unknown>> = {
      'reserve-slot': admin,
      'dead-letters': admin,
      'place-order': {
        RECONCILE_AFTER_SECONDS: config('ordersaga-config', 'RECONCILE_AFTER_SECONDS'),
        PAYMENT_WAIT_SECONDS: config('ordersaga-config', 'PAYMENT_WAIT_SECONDS'),
      },
      notify: {
        MAILER_MODE: config('ordersaga-mailer', 'MAILER_MODE'),
        MAILER_REGION: config('ordersaga-mailer', 'MAILER_REGION'),
        MAIL_FROM: config('ordersaga-mailer', 'MAIL_FROM'),
      },
    };
    // The console reads the database and signs in with the admin token; it signs no bearer tokens.
    const { TOKEN_SECRET: _signing, ...consoleRefs } = common;
    for (const s of services(docs)) {
      const env = envOf(s);
      const fromRefs = Object.fromEntries([...env].filter(([, e]) => e.valueFrom !== undefined).map(([k, e]) => [k, e.valueFrom]));
      const isConsole = nameOf(s) === 'console';
      expect(fromRefs, nameOf(s)).toEqual(isConsole ? { ...consoleRefs, ...admin } : { ...common, ...(extra[nameOf(s)] ?? {}) });
      // Sender authentication: its own audience, and the projected token of a Service that sends to K_SINK.
      const oidc = ['OIDC_AUDIENCE', ...(dig(s, 'metadata', 'labels', 'ordersaga.dev/emits') === 'true' ? ['OIDC_TOKEN_FILE'] : [])];
      const values = [...(isConsole ? ['CONSOLE_BASE_PATH', 'DEAD_LETTERS_URL', 'FUNCTION_TARGET', 'NODE_ENV'] : ['FUNCTION_TARGET', 'NODE_ENV']), ...oidc].sort();
      expect([...env.keys()].filter((k) => !(k in fromRefs) && !k.startsWith('OTEL_')).sort(), nameOf(s)).toEqual(values);
      expect(containerOf(s).envFrom, nameOf(s)).toEqual([{ configMapRef: { name: 'ordersaga-oidc' } }]);
    }
  });

  it("sends every function's traces, and Knative's own, to one OpenTelemetry Collector", () => {
    const observability = named(docs, '', 'ConfigMap', 'config-observability');
    expect(dig(observability, 'metadata', 'namespace')).toBe('knative-eventing');
    const endpoint = String(dig(observability, 'data', 'tracing-endpoint'));
    expect(dig(observability, 'data', 'tracing-protocol')).toBe('http/protobuf');
    expect(Number(dig(observability, 'data', 'tracing-sampling-rate'))).toBeGreaterThan(0);
    for (const s of services(docs)) {
      const env = envOf(s);
      expect(`${env.get('OTEL_EXPORTER_OTLP_ENDPOINT')?.value}/v1/traces`, nameOf(s)).toBe(endpoint);
      expect(env.get('OTEL_EXPORTER_OTLP_PROTOCOL')?.value, nameOf(s)).toBe('http/protobuf');
    }
  });

  it('has working local defaults in the base ConfigMaps', () => {
    const base = loadDirectory(BASE_DIR).docs;
    expect(dig(named(base, '', 'ConfigMap', 'ordersaga-config'), 'data')).toEqual({ DB_POOL_MAX: '5', RECONCILE_AFTER_SECONDS: '30', PAYMENT_WAIT_SECONDS: '0' });
    expect(dig(named(base, '', 'ConfigMap', 'ordersaga-mailer'), 'data')).toEqual({
      MAILER_MODE: 'dry-run',
      MAILER_REGION: 'us-east-1',
      MAIL_FROM: 'orders@ordersaga.dev',
    });
  });

});

describe('the Ingress routes the API of SPEC §3', () => {
  const docs = KUBECTL ? render('knative/overlays/dev') : loadDirectory(BASE_DIR).docs;
  const routes = byKind(docs, 'networking.k8s.io', 'Ingress').flatMap((ingress) =>
    ((dig(ingress, 'spec', 'rules', '0', 'http', 'paths') ?? []) as Record<string, unknown>[]).map((p) => ({
      source: String(p.path),
      pattern: new RegExp(String(p.path)),
      service: String(dig(p, 'backend', 'service', 'name')),
      host: String(dig(ingress, 'spec', 'rules', '0', 'host')),
    })),
  );
  // nginx tries regex locations longest first; so does the local gateway.
  const route = (p: string) => [...routes].sort((a, b) => b.source.length - a.source.length).find((r) => r.pattern.test(p))?.service;

  it('serves arch.homework with anchored regular expressions only', () => {
    for (const r of routes) {
      expect(r.host).toBe('arch.homework');
      expect(r.source, r.source).toMatch(/^\^\/.*\$$/);
    }
  });

  it.each([
    ['/accounts', 'accounts'],
    ['/accounts/0b7e3c36-2d0e-4a6f-9d0e-0c3e0d6f2a11', 'accounts'],
    ['/accounts/abc/deposits', 'deposit'],
    ['/accounts/abc/withdrawals', 'deposit'],
    ['/accounts/abc/orders', 'place-order'],
    ['/orders', 'place-order'],
    ['/orders/abc', 'place-order'],
    ['/orders/abc/cancel', 'place-order'],
    ['/accounts/abc/notifications', 'notify'],
    ['/slots', 'reserve-slot'],
    ['/slots/abc', 'reserve-slot'],
    ['/dead-letters', 'dead-letters'],
    ['/dead-letters/7/replay', 'dead-letters'],
    ['/accounts/abc/refunds', undefined],
    ['/healthz', undefined],
  ])('%s → %s', (requestPath, service) => {
    expect(route(requestPath)).toBe(service);
  });

  it.skipIf(!KUBECTL)('routes /console and all under it to the console (its component, in the overlays)', () => {
    for (const requestPath of ['/console', '/console/', '/console/api/stream']) expect(route(requestPath), requestPath).toBe('console');
  });
});

describe('skaffold.yaml', () => {
  const text = readFileSync(path.join(REPO_ROOT, 'skaffold.yaml'), 'utf8');

  it('is valid against the skaffold v4beta11 schema and names folders and files that exist', () => {
    expect(text).toMatch(/^apiVersion: skaffold\/v4beta11$/m);
    const problems = validateSkaffold(text);
    expect(problems, formatProblems(problems)).toEqual([]);
  });

  it('is rejected when a field is misspelt', () => {
    const problems = validateSkaffold(text.replace('manifests:\n  kustomize:', 'manifests:\n  kustomise:'));
    expect(problems.some((p) => p.rule === 'skaffold' && p.path === 'manifests.kustomise'), formatProblems(problems)).toBe(true);
  });

  it('builds the one image every manifest names', () => {
    expect(text).toMatch(/- image: ordersaga\n\s+docker:\n\s+dockerfile: Dockerfile/);
  });
});

describe('the image', () => {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

  it('starts the Functions Framework from a path that exists in the installed package', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(cmd).not.toBeNull();
    const argv = JSON.parse(cmd![1]!) as string[];
    expect(argv[0]).toBe('node');
    expect(existsSync(path.join(REPO_ROOT, argv.find((a) => a.endsWith('/main.js'))!))).toBe(true);
    expect(argv).toContain('--source=dist/functions.js');
    // OpenTelemetry starts first, from the preload the build writes.
    expect(argv[1]).toBe('--import=./dist/tracing.js');
    expect(readFileSync(path.join(REPO_ROOT, 'scripts', 'build.mjs'), 'utf8')).toContain("tracing: 'lib/tracing/preload.ts'");
  });

  it('runs as a non-root user', () => {
    expect(dockerfile).toMatch(/^USER (node|1000(:1000)?)$/m);
  });
});
