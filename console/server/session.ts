/**
 * Signing in to the console with the admin token: a session held in memory
 * behind an HttpOnly, SameSite=Strict cookie (the token itself never leaves
 * the sign-in request, and never goes in a URL), and CSRF protection for
 * every request that changes something: the session's own token in a
 * header, and an Origin that is the console's own.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../../lib/errors.js';

export { ForbiddenError, TooManyRequestsError };

export const COOKIE_NAME = 'ordersaga_console';
export const CSRF_HEADER = 'x-csrf-token';

export interface Session {
  id: string;
  csrfToken: string;
  expiresAt: number;
}

export interface SessionOptions {
  adminToken: string;
  /** The cookie's Path: where the console is served. */
  path: string;
  /** A session's lifetime (default 12 hours). */
  ttlMs?: number;
  /** Sessions held at most; the oldest goes first (default 64). */
  maxSessions?: number;
  /** Failed sign-ins allowed per minute before refusing them all for the rest of it (default 20). */
  maxFailuresPerMinute?: number;
  now?: () => number;
}

export interface Sessions {
  /** A new session for the right admin token. @throws UnauthorizedError, TooManyRequestsError */
  signIn(token: unknown): Session;
  /** The request's session. @throws UnauthorizedError when it has none (or an expired one). */
  require(req: IncomingMessage): Session;
  /** Refuses a state-changing request that is not provably from the console's own page. @throws ForbiddenError */
  checkWrite(req: IncomingMessage, session: Session): void;
  signOut(session: Session): void;
  /** The Set-Cookie value for a session (or, without one, the value that clears it). */
  cookie(session: Session | undefined, secure: boolean): string;
  /** Called with a session when it ends (signed out, expired, evicted), e.g. to close its streams. */
  onEnd(listener: (session: Session) => void): void;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time equality of two strings: both are hashed first, so not even their lengths leak. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function cookieValue(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE_NAME) return rest.join('=');
  }
  return undefined;
}

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();

/** The origin the browser addressed: behind a proxy, the forwarded host and scheme. */
export function ownOrigin(req: IncomingMessage): string {
  const host = first(req.headers['x-forwarded-host']) ?? req.headers.host ?? '';
  const proto = first(req.headers['x-forwarded-proto']) ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  return `${proto}://${host}`;
}

export function createSessions(options: SessionOptions): Sessions {
  const ttl = options.ttlMs ?? 12 * 60 * 60 * 1000;
  const max = options.maxSessions ?? 64;
  const maxFailures = options.maxFailuresPerMinute ?? 20;
  const now = options.now ?? Date.now;
  const sessions = new Map<string, Session>();
  const listeners: ((session: Session) => void)[] = [];
  let failures = { minute: 0, count: 0 };

  const end = (session: Session) => {
    if (!sessions.delete(session.id)) return;
    for (const listener of listeners) listener(session);
  };

  return {
    signIn(token) {
      const minute = Math.floor(now() / 60_000);
      if (failures.minute !== minute) failures = { minute, count: 0 };
      if (failures.count >= maxFailures) throw new TooManyRequestsError('Too many failed sign-ins; wait a minute');
      if (typeof token !== 'string' || !sameSecret(token, options.adminToken)) {
        failures.count += 1;
        throw new UnauthorizedError('That is not the admin token');
      }
      for (const old of sessions.values()) if (old.expiresAt <= now()) end(old);
      while (sessions.size >= max) end(sessions.values().next().value!);
      const session = { id: randomBytes(32).toString('base64url'), csrfToken: randomBytes(32).toString('base64url'), expiresAt: now() + ttl };
      sessions.set(session.id, session);
      return session;
    },
    require(req) {
      const id = cookieValue(req);
      const session = id === undefined ? undefined : sessions.get(id);
      if (!session) throw new UnauthorizedError('Sign in with the admin token first');
      if (session.expiresAt <= now()) {
        end(session);
        throw new UnauthorizedError('The session has expired; sign in again');
      }
      return session;
    },
    checkWrite(req, session) {
      const origin = req.headers.origin;
      if (origin === undefined || origin !== ownOrigin(req)) {
        throw new ForbiddenError(`Cross-origin request refused (Origin ${origin ?? 'missing'})`);
      }
      const given = req.headers[CSRF_HEADER];
      if (typeof given !== 'string' || !sameSecret(given, session.csrfToken)) {
        throw new ForbiddenError(`The ${CSRF_HEADER} header is missing or wrong`);
      }
    },
    signOut: end,
    cookie(session, secure) {
      const attributes = [`Path=${options.path}`, 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
      if (!session) return [`${COOKIE_NAME}=`, 'Max-Age=0', ...attributes].join('; ');
      return [`${COOKIE_NAME}=${session.id}`, `Max-Age=${Math.floor((session.expiresAt - now()) / 1000)}`, ...attributes].join('; ');
    },
    onEnd(listener) {
      listeners.push(listener);
    },
  };
}
