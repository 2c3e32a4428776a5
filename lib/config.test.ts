/**
 * Configuration: each option kind parses and refuses as documented, and
 * every function refuses a bad value at start with a message that names the
 * variable (and never shows a secret).
 */
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../functions/registry.js';
import { ConfigError, opt, readConfig, type Option } from './config.js';
import { functionFromEnv } from './runtime.js';

describe('option kinds', () => {
  it.each([
    ['an integer', opt.int('N', 'n', 5, 1, 10), '7', 7],
    ['an integer at its bounds', opt.int('N', 'n', 5, 1, 10), '10', 10],
    ['a URL', opt.url('U', 'u'), 'postgres://h:1/db', 'postgres://h:1/db'],
    ['an optional URL left empty', opt.optionalUrl('U', 'u'), '', undefined],
    ['one of a list', opt.oneOf('M', 'm', ['a', 'b'] as const, 'a'), 'b', 'b'],
    ['a secret long enough', opt.secret('S', 's', 4), 'abcd', 'abcd'],
    ['an optional secret left empty', opt.optionalSecret('S', 's', 4), '', undefined],
  ])('reads %s', (_, option, raw, value) => {
    expect(readConfig({ x: option }, { [option.env]: raw })).toEqual({ x: value });
  });

  it('uses the default when the variable is unset or empty', () => {
    expect(readConfig({ n: opt.int('N', 'n', 5, 1, 10) }, {})).toEqual({ n: 5 });
    expect(readConfig({ n: opt.int('N', 'n', 5, 1, 10) }, { N: '' })).toEqual({ n: 5 });
  });

  it.each([
    ['an integer that is not one', opt.int('N', 'n', 5, 1, 10), '1.5', 'N="1.5": must be an integer'],
    ['an integer below its range', opt.int('N', 'n', 5, 1, 10), '0', 'N="0": must be between 1 and 10'],
    ['an integer above its range', opt.int('N', 'n', 5, 1, 10), '11', 'N="11": must be between 1 and 10'],
    ['a URL that is not one', opt.url('URL_X', 'u'), 'not a url', 'URL_X="<redacted>": Invalid URL'],
    ['a value not in the list', opt.oneOf('M', 'm', ['a', 'b'] as const, 'a'), 'c', 'M="c": must be one of a, b'],
    ['a secret too short', opt.secret('MY_SECRET', 's', 8), 'short', 'MY_SECRET="<redacted>": must be at least 8 characters'],
    ['a required value missing', opt.secret('MY_TOKEN', 'the token', 8), undefined, 'MY_TOKEN is required (the token)'],
  ])('refuses %s with a message naming the variable', (_, option, raw, message) => {
    expect(() => readConfig({ x: option }, raw === undefined ? {} : { [option.env]: raw })).toThrow(ConfigError);
    expect(() => readConfig({ x: option }, raw === undefined ? {} : { [option.env]: raw })).toThrow(message);
  });

  it('lists every bad value at once', () => {
    const spec = { a: opt.int('A', 'a', 1, 1, 2), b: opt.int('B', 'b', 1, 1, 2) };
    expect(() => readConfig(spec, { A: 'x', B: '9' })).toThrow(/A="x".*\n.*B="9"/);
  });
});

const GOOD: Record<string, string> = {
  DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/ordersaga',
  TOKEN_SECRET: 'a-token-secret-of-at-least-32-characters!!',
  ADMIN_TOKEN: 'an-admin-token-16+',
};

/** Bad values of what the functions read, and the variable each message must name. */
const BAD: [string, string][] = [
  ['DATABASE_URL', 'not a url'],
  ['DB_POOL_MAX', '0'],
  ['DB_POOL_MAX', 'many'],
  ['TOKEN_SECRET', 'too-short'],
  ['K_SINK', 'not a url'],
  ['ADMIN_TOKEN', 'short'],
  ['RECONCILE_AFTER_SECONDS', '0'],
  ['PAYMENT_WAIT_SECONDS', '86401'],
  ['PAYMENT_WAIT_SECONDS', '-1'],
  ['MAILER_MODE', 'smtp'],
  ['AUTHENTICATION_OIDC', 'yes'],
  ['OIDC_ISSUER', 'not a url'],
];

it('has a bad value for every variable a function checks', () => {
  const checked = new Set(FUNCTIONS.flatMap((fn) => (Object.values(fn.options) as Option<unknown>[]).map((o) => o.env)));
  // Free text: any value is a valid sender address or region name to SES's client.
  for (const free of ['MAILER_REGION', 'MAIL_FROM']) checked.delete(free);
  // An audience, subjects and file paths: what they must be together is lib/oidc.test.ts's.
  for (const free of ['OIDC_AUDIENCE', 'OIDC_SENDERS', 'OIDC_ISSUER_CA_FILE', 'OIDC_ISSUER_TOKEN_FILE', 'OIDC_TOKEN_FILE']) checked.delete(free);
  expect([...checked].sort()).toEqual([...new Set(BAD.map(([variable]) => variable))].sort());
});

describe.each(FUNCTIONS.map((fn) => [fn.name, fn] as const))('%s at start', (_, fn) => {
  const reads = (variable: string) => (Object.values(fn.options) as Option<unknown>[]).some((o) => o.env === variable);

  it('starts with the configuration it documents', async () => {
    const built = await functionFromEnv(fn, GOOD);
    expect(typeof built.handler).toBe('function');
    await built.close();
  });

  it.each(BAD.filter(([variable]) => reads(variable)))('refuses %s=%s with a message naming it', async (variable, value) => {
    const start = functionFromEnv(fn, { ...GOOD, [variable]: value });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(new RegExp(`^invalid configuration:\\n  - ${variable}=`));
    if (/SECRET|TOKEN|URL/.test(variable)) await expect(start).rejects.not.toThrow(value);
  });
});
