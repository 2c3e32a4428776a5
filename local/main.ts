/**
 * `npm start`: the whole system on this machine, no cluster, no Docker, no
 * PostgreSQL installed. One stack per data folder (its lock). Ctrl-C stops
 * taking requests, drains in-flight deliveries and stops everything; so
 * does a PostgreSQL that keeps crashing, with exit code 1.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, opt, readConfig, type Option } from '../lib/config.js';
import { createLogger } from '../lib/log.js';
import { AlreadyRunningError } from './lock.js';
import { PortTakenError } from './ports.js';
import { DEFAULT_FUNCTION_NODE_FLAGS, startStack } from './stack.js';
import { NotReadyError } from './supervisor.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const chaosDuplicates: Option<{ min: number; max: number } | undefined> = {
  env: 'BROKER_CHAOS_DUPLICATES',
  describe: 'deliver every event N or MIN-MAX times (chaos testing)',
  default: '',
  parse(raw) {
    if (raw === '') return undefined;
    const match = /^(\d+)(?:-(\d+))?$/.exec(raw);
    if (!match) throw new Error('must be N or MIN-MAX');
    const min = Number(match[1]);
    const max = Number(match[2] ?? match[1]);
    if (min < 1 || max < min || max > 10) throw new Error('must be within 1-10, MIN ≤ MAX');
    return { min, max };
  },
};

const options = {
  gatewayPort: opt.int('GATEWAY_PORT', 'port of the API gateway (0: any free port)', 8080, 0, 65535),
  brokerPort: opt.int('BROKER_PORT', 'port of the Broker ingress (0: any free port)', 8081, 0, 65535),
  consolePort: opt.int('CONSOLE_PORT', 'port of the web console (0: any free port)', 8082, 0, 65535),
  functionsPort: opt.int('FUNCTIONS_PORT', 'first port of the function processes (0: free ports)', 8090, 0, 65535),
  postgresPort: opt.int('POSTGRES_PORT', 'port of the embedded PostgreSQL (0: any free port)', 5433, 0, 65535),
  otlpPort: opt.int('OTLP_PORT', 'port of the trace receiver, without OTEL_EXPORTER_OTLP_ENDPOINT (0: any free port)', 4318, 0, 65535),
  databaseUrl: opt.optionalUrl('DATABASE_URL', 'use this PostgreSQL instead of the embedded one'),
  dataDir: opt.string('ORDERSAGA_DATA_DIR', 'where data, secrets and logs are kept', path.join(root, '.data')),
  // The same minimum lengths as the functions ask, so a bad value stops here, at once.
  adminToken: opt.optionalSecret('ADMIN_TOKEN', 'admin token for POST /slots (generated and kept when unset)', 16),
  tokenSecret: opt.optionalSecret('TOKEN_SECRET', 'key that signs bearer tokens (generated and kept when unset)', 32),
  pingInterval: opt.int('PING_INTERVAL_SECONDS', 'fire PingSources at this interval instead of their schedule (0: schedule)', 0, 0, 86_400),
  chaosDuplicates,
  chaosShuffle: opt.oneOf('BROKER_CHAOS_SHUFFLE', 'deliver events in shuffled order (chaos testing)', ['0', '1'] as const, '0'),
  functionNodeFlags: opt.string(
    'FUNCTION_NODE_FLAGS',
    'Node flags of the function processes (e.g. add --cpu-prof to profile them)',
    DEFAULT_FUNCTION_NODE_FLAGS.join(' '),
  ),
  logFormat: opt.oneOf('LOG_FORMAT', 'text for people, json for machines', ['text', 'json'] as const, 'text'),
};

async function main(): Promise<void> {
  const started = Date.now();
  const config = readConfig(options);
  const log = createLogger('stand-in', { format: config.logFormat });

  // Installed before anything starts, so Ctrl-C during start-up unwinds what has started.
  const cleanups: (() => Promise<void>)[] = [];
  let stopping = false;
  const stop = async (why: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { reason: why });
    try {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      log.info('stopped');
      process.exit(exitCode);
    } catch (err) {
      log.error('stop failed', { error: (err as Error).message });
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const stack = await startStack(
    {
      // The ports, DATABASE_URL and the tokens as read.
      ...config,
      root,
      manifestsDir: path.join(root, 'knative', 'base'),
      dataDir: path.resolve(config.dataDir),
      env: process.env,
      functionNodeFlags: config.functionNodeFlags.split(/\s+/).filter(Boolean),
      pingIntervalSeconds: config.pingInterval === 0 ? undefined : config.pingInterval,
      chaos:
        config.chaosDuplicates || config.chaosShuffle === '1'
          ? { duplicates: config.chaosDuplicates, shuffle: config.chaosShuffle === '1' }
          : undefined,
      onFatal(reason) {
        log.error('PostgreSQL keeps crashing: stopping ordersaga', { reason });
        void stop('PostgreSQL keeps crashing', 1);
      },
    },
    log,
    cleanups,
  );
  if (stopping) return;
  const lines = [
    '',
    'ordersaga is running',
    `  API gateway    ${stack.gatewayUrl}   (what http://arch.homework is in a cluster)`,
    `  Broker ingress ${stack.brokerUrl}   (kn event send --to ${stack.brokerUrl} ...)`,
    `  Console        ${stack.consoleUrl}   (sign in with the admin token)`,
    `  Traces         ${stack.tracesUrl ? `${stack.tracesUrl}/v1/traces   (OTLP/HTTP; GET /traces/{id}, /orders/{id}/trace)` : process.env.OTEL_SDK_DISABLED === 'true' ? 'off (OTEL_SDK_DISABLED)' : `to ${process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT}`}`,
    ...stack.processes().map((p) => `  ${p.name.padEnd(14)} http://127.0.0.1:${p.port}`),
    `  PostgreSQL     ${stack.postgres ? `embedded, data in ${path.join(config.dataDir, 'postgres')}` : 'from DATABASE_URL'}`,
    `  Admin token    ${stack.adminToken}`,
    stack.operatorTokenFile
      ? `  Senders        OIDC: only admitted senders reach the Broker; the operator's token is in ${stack.operatorTokenFile} (npm run send -- --type … -f key=value)`
      : '  Senders        not authenticated (AUTHENTICATION_OIDC=enabled requires OIDC tokens)',
    `  Logs           ${stack.logsDir}/<service>.log`,
    config.chaosDuplicates || config.chaosShuffle === '1' ? `  CHAOS          duplicates=${JSON.stringify(config.chaosDuplicates)} shuffle=${config.chaosShuffle}` : '',
    `ready in ${Date.now() - started} ms${stack.postgres?.initialised ? ' (first start: database created)' : ''}; Ctrl-C stops everything`,
    '',
  ];
  process.stdout.write(lines.filter((l) => l !== '').join('\n') + '\n');
}

main().catch((err: unknown) => {
  if (err instanceof AlreadyRunningError) process.stderr.write(`${err.message}\n`);
  else if (err instanceof ConfigError || err instanceof NotReadyError || err instanceof PortTakenError) process.stderr.write(`ordersaga: ${err.message}\n`);
  else process.stderr.write(`ordersaga failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
