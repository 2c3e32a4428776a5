/**
 * What every function process needs, built once from its configuration:
 * the database, a logger, token verification and the outbox emitter.
 */
import { opt } from './config.js';
import { createTokens, type Tokens } from './auth.js';
import { createDb, type Db } from './db.js';
import { createLogger, type Logger } from './log.js';
import { createEmitter, type Emitter } from './outbox.js';

/** Options every function reads. */
export const baseOptions = {
  databaseUrl: opt.url('DATABASE_URL', 'PostgreSQL connection URL'),
  poolMax: opt.int('DB_POOL_MAX', 'database connections per instance', 5, 1, 200),
  sink: opt.optionalUrl('K_SINK', 'where produced events are sent (the Broker), injected by a SinkBinding'),
  tokenSecret: opt.secret('TOKEN_SECRET', 'key that signs bearer tokens', 32),
};

export interface BaseConfig {
  databaseUrl: string;
  poolMax: number;
  sink: string | undefined;
  tokenSecret: string;
}

/** The dependencies a function is built from; tests build them by hand. */
export interface Runtime {
  name: string;
  db: Db;
  log: Logger;
  tokens: Tokens;
  emitter: Emitter;
}

export function createRuntime(name: string, config: BaseConfig): Runtime {
  const db = createDb({ url: config.databaseUrl, poolMax: config.poolMax, applicationName: name });
  const log = createLogger(name);
  return { name, db, log, tokens: createTokens(config.tokenSecret), emitter: createEmitter({ db, sink: config.sink, log }) };
}
