/**
 * The whole system on one machine (SPEC §5): PostgreSQL (embedded, or
 * DATABASE_URL), migrations, every Knative Service as its own Functions
 * Framework process, the Broker stand-in, the gateway, and the PingSources,
 * all derived from the manifests in `knative/base/`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../lib/log.js';
import { createLiveFeed } from '../console/server/feed.js';
import { serveLocalConsole } from '../console/server/local.js';
import { receivesTraces, startLocalTraces } from '../console/server/local-traces.js';
import { createBroker, type Broker } from './broker/index.js';
import { createGateway } from './gateway.js';
import { acquireLock } from './lock.js';
import { senderAuthManifestsDir, senderAuthenticationOn, startLocalOidc } from './oidc.js';
import { loadManifests, topologyOf, type Destination } from './manifests.js';
import { startPingSources, type PingScheduler } from './ping.js';
import { checkPorts, listen, portOr, type PortClaim } from './ports.js';
import { startEmbeddedPostgres, stopStaleServer, type EmbeddedServer } from './postgres.js';
import { createSupervisor, supervisePostgres, type ProcessState, type Supervisor } from './supervisor.js';

export interface StackConfig {
  root: string;
  manifestsDir: string;
  dataDir: string;
  /** 0 picks a free port. */
  gatewayPort: number;
  brokerPort: number;
  /** The web console's port (0 picks a free one); no console when undefined. */
  consolePort?: number;
  /** First port of the function processes (one each, consecutive); 0 picks free ports. */
  functionsPort: number;
  postgresPort: number;
  /** The trace receiver's port, when the stand-in receives traces itself (0 picks a free one). */
  otlpPort: number;
  databaseUrl: string | undefined;
  adminToken: string | undefined;
  tokenSecret: string | undefined;
  /** Env of this process that may override what the manifests declare. */
  env: NodeJS.ProcessEnv;
  /** Node flags of every function process. */
  functionNodeFlags: string[];
  pingIntervalSeconds: number | undefined;
  chaos: { duplicates?: { min: number; max: number }; shuffle?: boolean } | undefined;
  /** The stack cannot go on (the embedded PostgreSQL keeps crashing); whoever runs it should stop it. */
  onFatal?: (reason: string) => void;
}

export interface Stack {
  gatewayUrl: string;
  brokerUrl: string;
  /** The web console, when one was asked for. */
  consoleUrl: string | undefined;
  /** The stand-in's own OTLP/HTTP trace receiver, when no endpoint was given (and tracing is on). */
  tracesUrl: string | undefined;
  databaseUrl: string;
  adminToken: string;
  /** With sender authentication on: the operator's token for the Broker. */
  operatorTokenFile: string | undefined;
  logsDir: string;
  processes(): ProcessState[];
  supervisor: Supervisor;
  /** The Broker now serving (a restart replaces it). */
  readonly broker: Broker;
  /**
   * Stops the Broker at once, abandoning every delivery in flight (events
   * are lost, as when a broker pod dies), and starts a new one on the same port.
   */
  restartBroker(): Promise<void>;
  /** The embedded PostgreSQL; undefined with DATABASE_URL. */
  postgres: EmbeddedServer | undefined;
  /**
   * Stops taking requests (PingSources, gateway), drains the Broker's
   * deliveries, then stops the functions, then PostgreSQL, and gives the
   * folder's lock up; leaves no process behind.
   */
  stop(): Promise<void>;
}

const NAMESPACE = 'ordersaga';
const BROKER = 'default';

/** Secrets made once per data folder and kept, so tokens survive restarts. */
function loadSecrets(dataDir: string): { tokenSecret: string; adminToken: string } {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as ReturnType<typeof loadSecrets>;
  const secrets = { tokenSecret: randomBytes(32).toString('base64url'), adminToken: randomBytes(24).toString('base64url') };
  writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  return secrets;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount === 0) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
}

/**
 * Runs the migrations in a short-lived process (the same entry point as the
 * cluster's migrations Job), so the long-lived stand-in never loads knex.
 */
async function migrate(root: string, databaseUrl: string): Promise<void> {
  try {
    await promisify(execFile)(process.execPath, [path.join(root, 'dist', 'migrate.js')], { env: { ...process.env, DATABASE_URL: databaseUrl } });
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    throw new Error(`migrations failed: ${stderr || stdout || (err as Error).message}`);
  }
}

/**
 * V8 settings for the function processes: a 4 MB young generation and one
 * background thread. Against 1 MB the benchmark measured 5 % more
 * throughput (garbage collection was a fifth of place-order's CPU) for
 * 35 MB more at rest across all seven; 8 MB cost more memory again for no
 * clear gain.
 */
export const DEFAULT_FUNCTION_NODE_FLAGS = ['--max-semi-space-size=4', '--v8-pool-size=1'];

/**
 * Starts the stack. Each part started registers how to stop it in
 * `cleanups` (newest last), so a failed or interrupted start can be unwound
 * by whoever holds the list. The parts start in the reverse of the order
 * they must stop in: the lock, PostgreSQL, the functions, the Broker, the
 * gateway, the PingSources.
 */
export async function startStack(config: StackConfig, log: Logger, cleanups: (() => Promise<void>)[] = []): Promise<Stack> {
  try {
    return await start(config, log, cleanups);
  } catch (err) {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    throw err;
  }
}

async function start(config: StackConfig, log: Logger, cleanups: (() => Promise<void>)[]): Promise<Stack> {
  const base = loadManifests(config.manifestsDir);
  // Sender authentication on: the EventPolicies and the feature, as the overlays add them.
  const senderAuth = senderAuthenticationOn(config.env, base);
  const topology = topologyOf(senderAuth ? [...base, ...loadManifests(senderAuthManifestsDir(config.manifestsDir))] : base, NAMESPACE);
  const embedded = config.databaseUrl === undefined;
  mkdirSync(config.dataDir, { recursive: true });
  // First of all: a second start on this folder touches nothing of the first's.
  const lock = acquireLock(config.dataDir, {
    GATEWAY_PORT: config.gatewayPort,
    BROKER_PORT: config.brokerPort,
    FUNCTIONS_PORT: config.functionsPort,
    ...(embedded ? { POSTGRES_PORT: config.postgresPort } : {}),
  });
  cleanups.push(async () => lock.release());
  const functionPort = (i: number) => (config.functionsPort === 0 ? 0 : config.functionsPort + i);
  const pgDataDir = path.join(config.dataDir, 'postgres');
  if (lock.tookOver) log.warn('took over the lock of a stand-in that is gone', { holderPid: lock.tookOver.pid, since: lock.tookOver.startedAt });
  if (embedded) {
    const stale = await stopStaleServer(pgDataDir);
    if (stale !== undefined) log.warn('stopped the PostgreSQL a previous run left running', { postgresPid: stale, dataDir: pgDataDir });
  }
  await checkPorts(
    [
      { port: config.gatewayPort, variable: 'GATEWAY_PORT', what: 'the API gateway' },
      { port: config.brokerPort, variable: 'BROKER_PORT', what: 'the Broker ingress' },
      ...topology.services.map((service, i): PortClaim => ({
        port: functionPort(i),
        variable: 'FUNCTIONS_PORT',
        what: `${service.name}, FUNCTIONS_PORT + ${i}`,
      })),
      ...(embedded ? [{ port: config.postgresPort, variable: 'POSTGRES_PORT', what: 'the embedded PostgreSQL' }] : []),
      ...(receivesTraces(config.env) ? [{ port: config.otlpPort, variable: 'OTLP_PORT', what: 'the trace receiver' }] : []),
    ],
    // The processes of a stand-in that was just killed may still be letting go of their ports.
    lock.tookOver ? 5000 : 0,
  );
  const logsDir = path.join(config.dataDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const secrets = loadSecrets(config.dataDir);
  const adminToken = config.adminToken ?? secrets.adminToken;
  const tokenSecret = config.tokenSecret ?? secrets.tokenSecret;

  const postgres = embedded
    ? await startEmbeddedPostgres({
        dataDir: pgDataDir,
        port: await portOr(config.postgresPort),
        persistent: true,
        logFile: path.join(logsDir, 'postgres.log'),
      })
    : undefined;
  if (postgres) {
    cleanups.push(() => postgres.stop());
    supervisePostgres(postgres, {
      log,
      onGiveUp: config.onFatal ?? ((reason) => log.error('PostgreSQL cannot be kept up', { reason })),
    });
    await ensureDatabase(postgres.adminUrl, 'ordersaga');
  }
  const databaseUrl = postgres?.urlFor('ordersaga') ?? config.databaseUrl!;
  await migrate(config.root, databaseUrl);
  const oidc = senderAuth ? await startLocalOidc(config.dataDir, NAMESPACE, BROKER) : undefined;
  if (oidc) cleanups.push(() => oidc.issuer.close());
  const oidcEnv = new Map(await Promise.all(topology.services.map(async (s) => [s.name, (await oidc?.envFor(s)) ?? {}] as const)));

  const ports = new Map<string, number>();
  for (const [i, service] of topology.services.entries()) ports.set(service.name, await portOr(functionPort(i)));
  const portOf = (service: string) => {
    const port = ports.get(service);
    if (port === undefined) throw new Error(`no Knative Service ${service} in the manifests`);
    return port;
  };
  const brokerPort = await portOr(config.brokerPort);
  const brokerUrl = `http://127.0.0.1:${brokerPort}/${NAMESPACE}/${BROKER}`;
  const resolve = (destination: Destination, namespace: string): string => {
    if (destination.uri && !destination.ref) return destination.uri;
    const ref = destination.ref;
    if (!ref) throw new Error('destination has neither ref nor uri');
    const base =
      ref.kind === 'Broker'
        ? `http://127.0.0.1:${brokerPort}/${ref.namespace ?? namespace}/${ref.name}`
        : ref.kind === 'Service'
          ? `http://127.0.0.1:${portOf(ref.name)}`
          : undefined;
    if (base === undefined) throw new Error(`cannot resolve a ${ref.kind} locally`);
    return destination.uri ? new URL(destination.uri, base + '/').toString() : base;
  };

  // Before the functions, which export to it.
  const traces = await startLocalTraces(config.env, await portOr(config.otlpPort));
  cleanups.push(() => traces.close());

  // The console watches every Broker of this stack, a restarted one included.
  const feed = config.consolePort === undefined ? undefined : createLiveFeed();

  const require = createRequire(import.meta.url);
  // The package exports only its API; its CLI (`main.js`) sits beside the entry point.
  const frameworkMain = path.join(path.dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');
  const source = path.join(config.root, 'dist', 'functions.js');
  const supervisor = createSupervisor(
    topology.services.map((service) => {
      const declared = service.env;
      // A variable set in this environment overrides the manifest's value for it.
      const overrides = Object.fromEntries(Object.keys(declared).filter((k) => config.env[k]).map((k) => [k, config.env[k]!]));
      const env: Record<string, string> = {
        PATH: config.env.PATH ?? '',
        HOME: config.env.HOME ?? '',
        ...declared,
        ...overrides,
        ...traces.functionEnv(service.name),
        PORT: String(portOf(service.name)),
        DATABASE_URL: databaseUrl,
        TOKEN_SECRET: tokenSecret,
        ...oidcEnv.get(service.name),
        ...('ADMIN_TOKEN' in declared ? { ADMIN_TOKEN: adminToken } : {}),
        ...(service.sink ? { K_SINK: resolve(service.sink, service.namespace) } : {}),
      };
      return {
        name: service.name,
        command: process.execPath,
        args: [
          ...config.functionNodeFlags,
          ...['child-guard.js', 'tracing.js'].map((preload) => `--import=${pathToFileURL(path.join(config.root, 'dist', preload)).href}`),
          frameworkMain,
          `--source=${source}`,
        ],
        env,
        port: portOf(service.name),
        logFile: path.join(logsDir, `${service.name}.log`),
      };
    }),
    log,
  );
  cleanups.push(() => supervisor.stop());
  await supervisor.start();

  // After the functions, so that it is drained before they stop.
  const makeBroker = () =>
    createBroker({ manifests: topology.manifests, resolve, log, chaos: config.chaos, defaultNamespace: NAMESPACE, observer: feed?.observer, oidc: oidc?.issuer, tracing: traces.broker });
  let broker = makeBroker();
  await broker.listen(brokerPort);
  cleanups.push(() => broker.drain(10_000));

  const gateway = createGateway({ routes: topology.routes, portOf, log });
  const gatewayPort = await listen(gateway, await portOr(config.gatewayPort));
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  // Requests still held by Prefer: wait get a few seconds, then are cut.
  cleanups.push(() => gateway.shutDown(3000));

  let consoleUrl: string | undefined;
  if (feed) {
    const served = await serveLocalConsole({
      feed,
      port: await portOr(config.consolePort!),
      databaseUrl,
      gatewayUrl,
      brokerUrl,
      brokerAuthorization: oidc?.consoleAuthorization,
      adminToken,
      assetsDir: path.join(config.root, 'dist', 'console'),
      log,
      traces: traces.store,
    });
    cleanups.push(() => served.close());
    consoleUrl = served.url;
  }

  const pings: PingScheduler = startPingSources({
    sources: topology.pingSources,
    sinkUrl: (s) => resolve(s.sink, s.namespace),
    log,
    intervalSeconds: config.pingIntervalSeconds,
    authorization: oidc?.pingAuthorization,
  });
  cleanups.push(async () => pings.stop());

  const tracesUrl = traces.receiverUrl;
  const state = { pid: process.pid, gatewayUrl, brokerUrl, consoleUrl, tracesUrl, databaseUrl, processes: supervisor.state() };
  writeFileSync(path.join(config.dataDir, 'stack.json'), JSON.stringify(state, null, 2) + '\n');
  lock.update({
    apiUrl: gatewayUrl,
    ports: { GATEWAY_PORT: gatewayPort, BROKER_PORT: brokerPort, FUNCTIONS_PORT: portOf(topology.services[0]!.name), ...(postgres ? { POSTGRES_PORT: postgres.port } : {}) },
  });

  return {
    gatewayUrl,
    brokerUrl,
    consoleUrl,
    tracesUrl,
    databaseUrl,
    adminToken,
    operatorTokenFile: oidc?.operatorTokenFile,
    logsDir,
    processes: () => supervisor.state(),
    supervisor,
    get broker() {
      return broker;
    },
    async restartBroker() {
      await broker.drain(0);
      broker = makeBroker();
      await broker.listen(brokerPort);
    },
    postgres,
    async stop() {
      // Reverse order of start: pings, gateway, then drain the Broker, then functions, then PostgreSQL, then the lock.
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}
