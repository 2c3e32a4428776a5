/**
 * Bearer tokens: `v1.<accountId>.<HMAC-SHA256 signature>`, signed with a
 * secret from configuration. Any function can verify a token without a
 * database read; without the secret a token cannot be forged, and it is
 * compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { NotFoundError, UnauthorizedError } from './errors.js';
import type { RouteRequest } from './function.js';
import { UUID_PATTERN } from './ids.js';

export interface Tokens {
  issue(accountId: string): string;
  /** The account a bearer header speaks for; throws UnauthorizedError otherwise. */
  verify(authorization: string | undefined): string;
}

export function createTokens(secret: string): Tokens {
  const sign = (accountId: string) => createHmac('sha256', secret).update(`v1.${accountId}`).digest();
  return {
    issue: (accountId) => `v1.${accountId}.${sign(accountId).toString('base64url')}`,
    verify(authorization) {
      const match = /^Bearer v1\.([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/.exec(authorization ?? '');
      if (!match || !UUID_PATTERN.test(match[1]!)) {
        throw new UnauthorizedError('A valid bearer token is required (Authorization: Bearer <token>)');
      }
      const given = Buffer.from(match[2]!, 'base64url');
      const expected = sign(match[1]!);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new UnauthorizedError('A valid bearer token is required (Authorization: Bearer <token>)');
      }
      return match[1]!.toLowerCase();
    },
  };
}

/** Compares the admin token in constant time. */
export function checkAdminToken(expected: string, authorization: string | undefined): void {
  const given = Buffer.from(/^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '');
  const want = Buffer.from(expected);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw new UnauthorizedError('The admin token is required (Authorization: Bearer <admin token>)');
  }
}

/** A path id; anything that is not a UUID names nothing, so 404. */
export function idParam(req: RouteRequest, name: string): string {
  const value = req.params[name] ?? '';
  if (!UUID_PATTERN.test(value)) throw new NotFoundError(`No ${name.replace(/Id$/, '')} ${value}`);
  return value.toLowerCase();
}

/**
 * The account the bearer token speaks for, which must be the account named
 * by path parameter `param`: 401 without a valid token (checked first, so an
 * anonymous caller learns nothing about ids), 404 for any other account.
 */
export function authorizeAccount(tokens: Tokens, req: RouteRequest, param: string): string {
  const caller = tokens.verify(req.header('authorization'));
  if (caller !== idParam(req, param)) throw new NotFoundError(`No account ${req.params[param]}`);
  return caller;
}

/** As `authorizeAccount`, for an account id named in the request body. */
export function authorizeBodyAccount(tokens: Tokens, req: RouteRequest, accountId: string): string {
  const caller = tokens.verify(req.header('authorization'));
  if (caller !== accountId.toLowerCase()) throw new NotFoundError(`No account ${accountId}`);
  return caller;
}
