/**
 * What every function process needs, built once from its configuration:
 * the database, a logger, token verification and the publisher; and the
 * Functions Framework handler of a definition, built from the environment.
 */
import { createTokens } from './auth.js';
import { opt, readConfig } from './config.js';
import type { ConfigOf, FunctionDefinition, OptionSpec, Runtime } from './function.js';
import { createHttpFunction, type HttpFunction } from './http-function.js';
import { createLogger, type Logger } from './log.js';
import { createSenderAuth, oidcOptions } from './oidc.js';
import { createSql } from './pg.js';
import { createPublisher } from './publisher.js';

/** Options every function reads. */
export const baseOptions = {
  databaseUrl: opt.url('DATABASE_URL', 'PostgreSQL connection URL'),
  poolMax: opt.int('DB_POOL_MAX', 'database connections per instance', 5, 1, 200),
  sink: opt.optionalUrl('K_SINK', 'where produced events are sent (the Broker), injected by a SinkBinding'),
  tokenSecret: opt.secret('TOKEN_SECRET', 'key that signs bearer tokens', 32),
  ...oidcOptions,
};

export type BaseConfig = ConfigOf<typeof baseOptions>;

export interface RuntimeOptions {
  log?: Logger;
  /** How long published marks gather before they are written (0: at once, before `publish` resolves). */
  markDelayMs?: number;
}

export function createRuntime(name: string, config: BaseConfig, options: RuntimeOptions = {}): Runtime {
  const sql = createSql({ url: config.databaseUrl, poolMax: config.poolMax, applicationName: name });
  const log = options.log ?? createLogger(name);
  const senderAuth = createSenderAuth(config, { log, sink: config.sink });
  return {
    name,
    sql,
    log,
    tokens: createTokens(config.tokenSecret),
    senderAuth,
    publisher: createPublisher({ sql, sink: config.sink, log, markDelayMs: options.markDelayMs, authorization: senderAuth.sinkAuthorization }),
  };
}

/**
 * The Functions Framework handler of `def`, configured from `env`: a bad
 * value stops the function at start with a message naming the variable.
 */
export async function functionFromEnv<S extends OptionSpec, D>(
  def: FunctionDefinition<S, D>,
  env: NodeJS.ProcessEnv = process.env,
  options: RuntimeOptions = {},
): Promise<{ handler: HttpFunction; rt: Runtime; close(): Promise<void> }> {
  const config = readConfig(def.options, env) as ConfigOf<S> & BaseConfig;
  const rt = createRuntime(def.name, config, options);
  const deps = await def.setup(rt, config);
  return {
    handler: createHttpFunction(def, { rt, deps }),
    rt,
    async close() {
      await def.teardown?.(deps);
      await rt.publisher.close();
      await rt.sql.end();
    },
  };
}
