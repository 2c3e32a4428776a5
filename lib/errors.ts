/**
 * Named errors, each mapped once to an HTTP status and so to Knative's
 * retry behaviour: 4xx other than 404/408/409/429 is final; 5xx is retried.
 */

/** Base of every error the project raises on purpose; its name is its class's. */
export abstract class OrdersagaError extends Error {
  /** HTTP status this error answers with. */
  abstract readonly status: number;
  /** Short, stable title for the problem document. */
  abstract readonly title: string;
  /** Extra members for the problem document (e.g. ajv's errors). */
  readonly extensions: Record<string, unknown> = {};
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The base of the errors that answer with one HTTP status. */
function answering(status: number, title: string) {
  abstract class Answering extends OrdersagaError {
    readonly status = status;
    readonly title = title;
  }
  return Answering;
}

/** Bad input: malformed JSON, wrong types, unknown fields, an invalid event. Final. */
export class ValidationError extends answering(400, 'Bad Request') {
  constructor(detail: string, readonly errors: readonly { path: string; message: string }[] = []) {
    super(detail);
    if (errors.length > 0) this.extensions.errors = errors;
  }
}

/** No credentials, or ones that are not valid. */
export class UnauthorizedError extends answering(401, 'Unauthorized') {}

/** Valid credentials that do not allow what the request asks (a sender a policy does not admit, a failed CSRF check). */
export class ForbiddenError extends answering(403, 'Forbidden') {}

export class NotFoundError extends answering(404, 'Not Found') {}

export class MethodNotAllowedError extends answering(405, 'Method Not Allowed') {}

/** A business refusal that the caller can resolve (e.g. a balance too short). */
export class ConflictError extends answering(409, 'Conflict') {}

export class InsufficientFundsError extends ConflictError {}

/** The same Idempotency-Key is being processed right now. */
export class IdempotencyInFlightError extends ConflictError {}

/** The same Idempotency-Key was used with a different request. */
export class IdempotencyMismatchError extends answering(422, 'Unprocessable Content') {}

/** Too many attempts in a short time (failed sign-ins). */
export class TooManyRequestsError extends answering(429, 'Too Many Requests') {}

/** A fault that may pass (database down, pool exhausted): retried by the Broker. */
export class TransientError extends answering(503, 'Service Unavailable') {}

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
