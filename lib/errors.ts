/**
 * Named errors, each mapped once to an HTTP status and so to Knative's
 * retry behaviour: 4xx other than 404/408/409/429 is final; 5xx is retried.
 */

/** Base of every error the project raises on purpose. */
export abstract class OrdersagaError extends Error {
  /** HTTP status this error answers with. */
  abstract readonly status: number;
  /** Short, stable title for the problem document. */
  abstract readonly title: string;
  /** Extra members for the problem document (e.g. ajv's errors). */
  readonly extensions: Record<string, unknown> = {};
}

/** Bad input: malformed JSON, wrong types, unknown fields, an invalid event. Final. */
export class ValidationError extends OrdersagaError {
  override name = 'ValidationError';
  readonly status = 400;
  readonly title = 'Bad Request';
  constructor(detail: string, readonly errors: readonly { path: string; message: string }[] = []) {
    super(detail);
    if (errors.length > 0) this.extensions.errors = errors;
  }
}

export class UnauthorizedError extends OrdersagaError {
  override name = 'UnauthorizedError';
  readonly status = 401;
  readonly title = 'Unauthorized';
}

export class ForbiddenError extends OrdersagaError {
  override name = 'ForbiddenError';
  readonly status = 403;
  readonly title = 'Forbidden';
}

export class NotFoundError extends OrdersagaError {
  override name = 'NotFoundError';
  readonly status = 404;
  readonly title = 'Not Found';
}

export class MethodNotAllowedError extends OrdersagaError {
  override name = 'MethodNotAllowedError';
  readonly status = 405;
  readonly title = 'Method Not Allowed';
}

/** A business refusal that the caller can resolve (e.g. a balance too short). */
export class ConflictError extends OrdersagaError {
  override name = 'ConflictError';
  readonly status = 409;
  readonly title = 'Conflict';
}

export class InsufficientFundsError extends ConflictError {
  override name = 'InsufficientFundsError';
}

/** The same Idempotency-Key is being processed right now. */
export class IdempotencyInFlightError extends ConflictError {
  override name = 'IdempotencyInFlightError';
}

/** The same Idempotency-Key was used with a different request. */
export class IdempotencyMismatchError extends OrdersagaError {
  override name = 'IdempotencyMismatchError';
  readonly status = 422;
  readonly title = 'Unprocessable Content';
}

/** A fault that may pass (database down, pool exhausted): retried by the Broker. */
export class TransientError extends OrdersagaError {
  override name = 'TransientError';
  readonly status = 503;
  readonly title = 'Service Unavailable';
}

const TRANSIENT_PG_CLASSES = ['08', '53', '57', '58'];
const TRANSIENT_PG_CODES = new Set(['40001', '40P01', '55P03']);
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/** True for faults of the database or network that a retry may clear. */
export function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (TRANSIENT_NODE_CODES.has(code) || TRANSIENT_PG_CODES.has(code)) return true;
    // A Unix socket that is not there: the server is down or restarting.
    if (code === 'ENOENT' && (err as { syscall?: unknown }).syscall === 'connect') return true;
    if (code.length === 5 && TRANSIENT_PG_CLASSES.includes(code.slice(0, 2))) return true;
  }
  if (err.name === 'KnexTimeoutError') return true;
  return /Connection terminated|connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
    err.message,
  );
}

/**
 * The named error for a refusal raised by a step routine with SQLSTATE
 * `OS<status>` (lib/messaging.sql.ts); any other value is returned as it is.
 */
export function fromDatabaseError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^OS\d{3}$/.test(code)) return err;
  const message = (err as Error).message;
  switch (code) {
    case 'OS400':
      return new ValidationError(message);
    case 'OS404':
      return new NotFoundError(message);
    case 'OS409':
      return new ConflictError(message);
    case 'OS422':
      return new IdempotencyMismatchError(message);
    default:
      return new Error(`a step routine raised ${code}: ${message}`);
  }
}
