import { describe, expect, it } from 'vitest';
import { checkAdminToken, createTokens } from './auth.js';
import { UnauthorizedError } from './errors.js';

describe('bearer tokens', () => {
  const tokens = createTokens('a-secret-of-at-least-thirty-two-characters');
  const ada = '3f0c2a4e-8d1b-4a55-9b6e-2f3c1d0e9a11';
  const bo = '7b9e4c1d-2a3f-4e5b-8c6d-1e2f3a4b5c6d';

  it('a token issued for an account verifies as that account', () => {
    const token = tokens.issue(ada);
    expect(token).toMatch(/^v1\.3f0c2a4e-8d1b-4a55-9b6e-2f3c1d0e9a11\.[A-Za-z0-9_-]{43}$/);
    expect(tokens.verify(`Bearer ${token}`)).toBe(ada);
  });

  it('two accounts get different signatures', () => {
    expect(tokens.issue(ada).split('.')[2]).not.toBe(tokens.issue(bo).split('.')[2]);
  });

  const signature = (token: string) => token.split('.')[2]!;
  const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);

  it.each([
    ['no header', () => undefined],
    ['an empty header', () => ''],
    ['the token without "Bearer "', () => tokens.issue(ada)],
    ['another scheme', () => `Basic ${tokens.issue(ada)}`],
    ['a signature with one character changed', () => `Bearer v1.${ada}.${flip(signature(tokens.issue(ada)), 0)}`],
    ['a signature with a middle character changed', () => `Bearer v1.${ada}.${flip(signature(tokens.issue(ada)), 21)}`],
    ["another account's signature on this id", () => `Bearer v1.${ada}.${signature(tokens.issue(bo))}`],
    ["this account's signature on another id", () => `Bearer v1.${bo}.${signature(tokens.issue(ada))}`],
    ['a token from another secret', () => `Bearer ${createTokens('another-secret-of-thirty-two-characters!').issue(ada)}`],
    ['another version', () => `Bearer ${tokens.issue(ada).replace(/^v1\./, 'v2.')}`],
    ['a truncated signature', () => `Bearer ${tokens.issue(ada).slice(0, -1)}`],
    ['trailing data', () => `Bearer ${tokens.issue(ada)}.x`],
    ['a non-UUID id', () => `Bearer v1.${'x'.repeat(36)}.${signature(tokens.issue(ada))}`],
  ])('refuses %s with UnauthorizedError', (_, header) => {
    expect(() => tokens.verify(header())).toThrow(UnauthorizedError);
  });
});

describe('the admin token', () => {
  const admin = 'admin-token-0123456789';

  it('passes with the exact token', () => {
    expect(() => checkAdminToken(admin, `Bearer ${admin}`)).not.toThrow();
  });

  it.each([
    ['no header', undefined],
    ['the token without "Bearer "', admin],
    ['a wrong token of the same length', `Bearer ${admin.slice(0, -1)}X`],
    ['a prefix of the token', `Bearer ${admin.slice(0, -1)}`],
    ['the token with more after it', `Bearer ${admin}0`],
    ['an empty bearer', 'Bearer '],
  ])('refuses %s with UnauthorizedError', (_, header) => {
    expect(() => checkAdminToken(admin, header)).toThrow(UnauthorizedError);
  });
});
