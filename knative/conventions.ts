/**
 * ordersaga's own rules for its manifests, beyond what a cluster enforces:
 * each Service is tuned, probed, bounded and locked down; each Trigger states
 * its whole delivery with a dead-letter sink; nothing sets K_SINK by hand;
 * every Service has its own identity and audience for sender
 * authentication; and the functions' connection pools fit the PostgreSQL
 * they share.
 */
import {
  arr,
  audienceOf,
  describe,
  dig,
  findDoc,
  isKind,
  isKnativeService,
  nameOf,
  namespaceOf,
  readModel,
  rec,
  str,
  type Manifest,
  type Problem,
} from './model/index.js';

/** The label that makes the SinkBinding give a Service K_SINK. */
export const EMITS_LABEL = 'ordersaga.dev/emits';
/** Annotations on the ConfigMap holding DB_POOL_MAX that declare the PostgreSQL connection budget. */
export const BUDGET_MAX_ANNOTATION = 'ordersaga.dev/postgres-max-connections';
export const BUDGET_RESERVED_ANNOTATION = 'ordersaga.dev/postgres-reserved-connections';

const AUTOSCALING = 'autoscaling.knative.dev/';
const REQUIRED_AUTOSCALING = ['min-scale', 'max-scale', 'target', 'metric'];
/** The env entry `name` of a container (an item of `env`). */
const envVar = (container: unknown, name: string): unknown =>
  arr(dig(container, 'env')).find((e) => dig(e, 'name') === name);
type Report = (doc: Manifest, path: string, message: string) => void;

/** Problems with ordersaga's conventions (rules `convention` and `budget`). */
export function checkConventions(docs: readonly Manifest[]): Problem[] {
  const problems: Problem[] = [];
  const push: Report = (doc, path, message) => problems.push({ rule: 'convention', resource: describe(doc), path, message });

  for (const doc of docs) {
    // Knative's own configuration (config-features, config-br-defaults) lives in knative-eventing.
    const knativeConfig = isKind(doc, '', 'ConfigMap') && namespaceOf(doc, '') === 'knative-eventing';
    if (!isKind(doc, '', 'Namespace') && !knativeConfig && namespaceOf(doc, '') !== 'ordersaga') push(doc, 'metadata.namespace', 'every ordersaga resource lives in namespace ordersaga');
  }

  for (const doc of docs.filter((d) => isKind(d, 'eventing.knative.dev', 'Trigger'))) {
    const delivery = rec(dig(doc, 'spec', 'delivery'));
    if (!delivery) push(doc, 'spec.delivery', "a Trigger states its own delivery (it replaces the Broker's whole)");
    for (const field of delivery ? ['retry', 'backoffPolicy', 'backoffDelay', 'timeout', 'deadLetterSink'] : []) {
      if (delivery![field] === undefined) push(doc, `spec.delivery.${field}`, `a Trigger's delivery sets ${field}`);
    }
  }

  for (const doc of docs.filter(isKnativeService)) {
    const annotations = rec(dig(doc, 'spec', 'template', 'metadata', 'annotations')) ?? {};
    for (const a of REQUIRED_AUTOSCALING) if (annotations[AUTOSCALING + a] === undefined) push(doc, `spec.template.metadata.annotations.${AUTOSCALING}${a}`, `set ${AUTOSCALING}${a}`);
    const spec = rec(dig(doc, 'spec', 'template', 'spec')) ?? {};
    for (const field of ['containerConcurrency', 'timeoutSeconds']) if (spec[field] === undefined) push(doc, `spec.template.spec.${field}`, `set ${field}`);
    const containers = arr(spec.containers);
    if (containers.length !== 1) push(doc, 'spec.template.spec.containers', 'one container per function');
    const c = containers[0];
    const at = 'spec.template.spec.containers[0]';
    if (!/(^|\/)ordersaga([:@]|$)/.test(str(dig(c, 'image')) ?? '')) push(doc, `${at}.image`, 'every function runs the one ordersaga image');
    const port = rec(arr(dig(c, 'ports'))[0]);
    if (port?.containerPort !== 8080 || port.name !== 'http1') push(doc, `${at}.ports`, 'expose containerPort 8080 named http1');
    if (dig(c, 'readinessProbe', 'httpGet', 'path') !== '/readyz') push(doc, `${at}.readinessProbe`, 'readiness is httpGet /readyz');
    if (dig(c, 'livenessProbe', 'httpGet', 'path') !== '/healthz') push(doc, `${at}.livenessProbe`, 'liveness is httpGet /healthz');
    for (const bound of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) if (dig(c, 'resources', bound, resource) === undefined) push(doc, `${at}.resources.${bound}.${resource}`, `set resources.${bound}.${resource}`);
    }
    const sc = rec(dig(c, 'securityContext')) ?? {};
    const security: [boolean, string, string][] = [
      [sc.runAsNonRoot === true, 'runAsNonRoot', 'run as non-root'],
      [sc.allowPrivilegeEscalation === false, 'allowPrivilegeEscalation', 'forbid privilege escalation'],
      [sc.readOnlyRootFilesystem === true, 'readOnlyRootFilesystem', 'use a read-only root filesystem'],
      [arr(dig(sc, 'capabilities', 'drop')).includes('ALL'), 'capabilities.drop', 'drop ALL capabilities'],
      [dig(sc, 'seccompProfile', 'type') === 'RuntimeDefault', 'seccompProfile', 'use the RuntimeDefault seccomp profile'],
    ];
    for (const [ok, field, message] of security) if (!ok) push(doc, `${at}.securityContext.${field}`, message);
    if (envVar(c, 'K_SINK')) push(doc, `${at}.env`, 'K_SINK comes from the SinkBinding, never from the Service');
    if (!str(dig(envVar(c, 'FUNCTION_TARGET'), 'value'))) push(doc, `${at}.env`, 'FUNCTION_TARGET picks the function');
    if (dig(envVar(c, 'NODE_ENV'), 'value') !== 'production') push(doc, `${at}.env`, 'NODE_ENV is production');
  }
  checkSenderAuth(docs, push);
  return [...problems, ...budgetProblems(docs)];
}

/** The ConfigMap that tells the functions whether sender authentication is on (lib/oidc.ts). */
export const OIDC_CONFIG_MAP = 'ordersaga-oidc';

/**
 * Sender authentication: each Service runs as a ServiceAccount of its own and names its audience, every Destination
 * that points at one states that audience (a Knative Service announces none), every Service that sends to K_SINK
 * mounts a projected token for the Broker, and the functions are told the feature's state as config-features has it.
 */
function checkSenderAuth(docs: readonly Manifest[], push: Report): void {
  const serviceAudience = (name: string, ns: string) => audienceOf('serving.knative.dev', 'Service', ns, name);
  const accounts = new Map<string, string>();
  for (const doc of docs.filter(isKnativeService)) {
    const [pod, c, at] = [dig(doc, 'spec', 'template', 'spec'), dig(doc, 'spec', 'template', 'spec', 'containers', '0'), 'spec.template.spec'];
    const account = str(dig(pod, 'serviceAccountName'));
    if (!account || !findDoc(docs, '', 'ServiceAccount', account, namespaceOf(doc))) push(doc, `${at}.serviceAccountName`, 'run as a ServiceAccount of its own, declared in the manifests');
    else if (accounts.has(account)) push(doc, `${at}.serviceAccountName`, `${account} is ${accounts.get(account)}'s ServiceAccount already`);
    else accounts.set(account, nameOf(doc));
    const value = (n: string) => dig(envVar(c, n), 'value');
    if (value('OIDC_AUDIENCE') !== serviceAudience(nameOf(doc), namespaceOf(doc))) push(doc, `${at}.containers[0].env`, `OIDC_AUDIENCE is ${serviceAudience(nameOf(doc), namespaceOf(doc))}`);
    if (dig(doc, 'metadata', 'labels', EMITS_LABEL) !== 'true') continue;
    const tokens = arr(dig(c, 'volumeMounts')).flatMap((m) =>
      arr(dig(arr(dig(pod, 'volumes')).find((v) => dig(v, 'name') === dig(m, 'name')), 'projected', 'sources')).map((s) => ({ file: `${String(dig(m, 'mountPath'))}/${String(dig(s, 'serviceAccountToken', 'path'))}`, audience: dig(s, 'serviceAccountToken', 'audience') })),
    );
    const broker = audienceOf('eventing.knative.dev', 'Broker', namespaceOf(doc), 'default');
    if (!tokens.some((t) => t.audience === broker && t.file === value('OIDC_TOKEN_FILE'))) push(doc, `${at}.volumes`, `a Service that sends to K_SINK mounts a projected token for ${broker} and names its file in OIDC_TOKEN_FILE`);
  }
  const destinations = docs.flatMap((doc) =>
    [['spec', 'subscriber'], ['spec', 'delivery', 'deadLetterSink'], ['spec', 'sink']].map((keys) => ({ doc, keys, dest: rec(dig(doc, ...keys)) })),
  );
  for (const { doc, keys, dest } of destinations.filter(({ dest }) => dig(dest, 'ref', 'kind') === 'Service' && String(dig(dest, 'ref', 'apiVersion')).startsWith('serving.knative.dev/'))) {
    const expected = serviceAudience(String(dig(dest, 'ref', 'name')), str(dig(dest, 'ref', 'namespace')) ?? namespaceOf(doc));
    if (dest!.audience !== expected) push(doc, `${keys.join('.')}.audience`, `a Knative Service announces no audience: state ${expected}`);
  }
  const told = findDoc(docs, '', 'ConfigMap', OIDC_CONFIG_MAP);
  const feature = readModel(docs).features['authentication-oidc'];
  if (told && dig(told, 'data', 'AUTHENTICATION_OIDC') !== feature) push(told, 'data.AUTHENTICATION_OIDC', `config-features has authentication-oidc ${feature}: tell the functions the same`);
}

/** Each Service's share of PostgreSQL connections: max-scale × its DB_POOL_MAX. */
export interface ConnectionUse {
  service: string;
  maxScale: number;
  pool: number;
}

/** The connection budget declared on a ConfigMap, and what the Services would use at full scale. */
export function connectionBudget(docs: readonly Manifest[]): { max: number; reserved: number; uses: ConnectionUse[]; configMap: Manifest } | undefined {
  const configMap = docs.find((d) => isKind(d, '', 'ConfigMap') && dig(d, 'metadata', 'annotations', BUDGET_MAX_ANNOTATION) !== undefined);
  if (!configMap) return undefined;
  const max = Number(dig(configMap, 'metadata', 'annotations', BUDGET_MAX_ANNOTATION));
  const reserved = Number(dig(configMap, 'metadata', 'annotations', BUDGET_RESERVED_ANNOTATION) ?? 0);
  const uses: ConnectionUse[] = [];
  for (const doc of docs.filter(isKnativeService)) {
    const poolVar = envVar(dig(doc, 'spec', 'template', 'spec', 'containers', '0'), 'DB_POOL_MAX');
    if (!poolVar) continue;
    const ref = rec(dig(poolVar, 'valueFrom', 'configMapKeyRef'));
    const raw = dig(poolVar, 'value') ?? (ref && ref.name === nameOf(configMap) ? dig(configMap, 'data', str(ref.key) ?? '') : undefined);
    uses.push({ service: nameOf(doc), maxScale: Number(dig(doc, 'spec', 'template', 'metadata', 'annotations', `${AUTOSCALING}max-scale`)), pool: Number(raw) });
  }
  return { max, reserved, uses, configMap };
}

function budgetProblems(docs: readonly Manifest[]): Problem[] {
  const budget = connectionBudget(docs);
  if (!budget) return [];
  const problem = (path: string, message: string): Problem => ({ rule: 'budget', resource: describe(budget.configMap), path, message });
  if (!(budget.max > 0) || !(budget.reserved >= 0) || budget.reserved >= budget.max) {
    return [problem('metadata.annotations', 'the connection budget annotations must be numbers with reserved < max')];
  }
  const out = budget.uses.flatMap((use) => [
    ...(Number.isInteger(use.maxScale) && use.maxScale > 0 ? [] : [problem('', `Service ${use.service} has no finite max-scale, so its connections are unbounded`)]),
    ...(Number.isInteger(use.pool) && use.pool > 0 ? [] : [problem('', `Service ${use.service} has no DB_POOL_MAX the budget can read`)]),
  ]);
  if (out.length > 0) return out;
  const total = budget.uses.reduce((sum, u) => sum + u.maxScale * u.pool, 0);
  const available = budget.max - budget.reserved;
  if (total <= available) return [];
  const terms = budget.uses.map((u) => `${u.service} ${u.maxScale}×${u.pool}`).join(' + ');
  return [problem('data.DB_POOL_MAX', `at full scale the functions open ${total} connections (${terms}), over the ${available} available (${budget.max} − ${budget.reserved} reserved)`)];
}
