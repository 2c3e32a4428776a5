/**
 * The console's front door: signing in with the admin token, the session
 * cookie, CSRF protection of what changes something, 401 problems for the
 * unauthenticated, the Host check, and the page's files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { TEST_ADMIN_TOKEN } from '../../test/harness.js';
import { createLiveFeed } from './feed.js';
import { createConsole } from './server.js';
import { COOKIE_NAME } from './session.js';
import { loadAssets } from './static.js';
import { builtPage, consoleClient, serveHandler, startTestConsole, type TestConsole } from './testing.js';
import { NO_TRACES } from './traces.js';

const problemOf = (answer: { headers: Headers; body: unknown }) => ({
  contentType: answer.headers.get('content-type'),
  ...(answer.body as { status: number; title: string; detail: string }),
});

describe('the console server', () => {
  let t: TestConsole;
  beforeAll(async () => {
    t = await startTestConsole({}, {});
  });
  afterAll(() => t.close());

  describe('signing in', () => {
    it('with the admin token sets an HttpOnly, SameSite=Strict session cookie for the whole console, and answers the CSRF token', async () => {
      const client = consoleClient(t.url);
      const answer = await client.signIn();
      expect(answer.status).toBe(200);
      const cookie = answer.headers.get('set-cookie')!;
      const [pair, ...attributes] = cookie.split('; ');
      expect(pair).toMatch(new RegExp(`^${COOKIE_NAME}=[A-Za-z0-9_-]{43}$`));
      expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', expect.stringMatching(/^Max-Age=\d+$/)]));
      // The session's twelve hours, less the moments the answer took.
      const maxAge = Number(attributes.find((a) => a.startsWith('Max-Age='))!.slice('Max-Age='.length));
      expect(maxAge).toBeGreaterThan(12 * 3600 - 60);
      expect(maxAge).toBeLessThanOrEqual(12 * 3600);
      expect(attributes).not.toContain('Secure');
      expect(answer.body).toMatchObject({ csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), mode: 'local', deliveries: true });
      // The token itself never comes back, in the cookie or the body.
      expect(cookie + JSON.stringify(answer.body)).not.toContain(TEST_ADMIN_TOKEN);
      expect((await client.call('GET', '/api/session')).status).toBe(200);
    });

    it('marks the cookie Secure when the console is reached over https (behind the Ingress)', async () => {
      const answer = await consoleClient(t.url).call('POST', '/api/session', {
        body: { token: TEST_ADMIN_TOKEN },
        origin: 'https://arch.homework',
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'arch.homework' },
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('set-cookie')!.split('; ')).toContain('Secure');
    });

    it.each([
      ['a wrong token', { token: 'not-the-admin-token-at-all' }],
      ['a prefix of the token', { token: TEST_ADMIN_TOKEN.slice(0, -1) }],
      ['the token with more after it', { token: `${TEST_ADMIN_TOKEN}x` }],
      ['an empty token', { token: '' }],
      ['no token', {}],
      ['a token that is not a string', { token: 12345 }],
    ])('with %s is refused 401, and sets no cookie', async (_name, body) => {
      const answer = await consoleClient(t.url).call('POST', '/api/session', { body });
      expect(answer.status).toBe(401);
      expect(problemOf(answer)).toMatchObject({ contentType: 'application/problem+json; charset=utf-8', status: 401, title: 'Unauthorized' });
      expect(answer.headers.get('set-cookie')).toBeNull();
    });

    it('from another origin, or with no Origin, is refused 403 even with the right token', async () => {
      for (const origin of ['http://evil.example', null]) {
        const answer = await consoleClient(t.url).call('POST', '/api/session', { body: { token: TEST_ADMIN_TOKEN }, origin });
        expect(answer.status, String(origin)).toBe(403);
        expect(answer.headers.get('set-cookie')).toBeNull();
      }
    });

    it('takes the token only in a JSON body', async () => {
      const answer = await consoleClient(t.url).call('POST', '/api/session', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(answer.status).toBe(400);
    });

    it('refuses every attempt for the rest of the minute after too many failures', async () => {
      const own = await startTestConsole({ sessions: { maxFailuresPerMinute: 3 } });
      try {
        const client = consoleClient(own.url);
        for (let i = 0; i < 3; i++) expect((await client.signIn('wrong-token-wrong-token')).status).toBe(401);
        expect((await client.signIn('wrong-token-wrong-token')).status).toBe(429);
        expect((await client.signIn()).status).toBe(429);
      } finally {
        await own.close();
      }
    });
  });

  describe('without a session', () => {
    it.each([
      ['GET', '/api/session'],
      ['GET', '/api/stream'],
      ['GET', '/api/saga-map'],
      ['GET', '/api/orders'],
      ['GET', '/api/orders/0b7e3c36-2d0e-4a6f-9d0e-0c3e0d6f2a11'],
      ['GET', '/api/orders/0b7e3c36-2d0e-4a6f-9d0e-0c3e0d6f2a11/trace'],
      ['GET', '/api/traces/4bf92f3577b34da6a3ce929d0e0e4736'],
      ['GET', '/api/dead-letters'],
      ['POST', '/api/dead-letters/1/replay'],
      ['POST', '/api/send'],
      ['DELETE', '/api/session'],
    ])('%s %s is 401 with a problem document', async (method, path) => {
      const answer = await consoleClient(t.url).call(method, path, method === 'POST' ? { body: {} } : {});
      expect(answer.status).toBe(401);
      expect(problemOf(answer)).toMatchObject({ contentType: 'application/problem+json; charset=utf-8', status: 401, detail: expect.any(String) });
    });

    it('a made-up session cookie is 401', async () => {
      const answer = await consoleClient(t.url).call('GET', '/api/session', { cookie: `${COOKIE_NAME}=${'A'.repeat(43)}` });
      expect(answer.status).toBe(401);
    });

    it('an expired session is 401', async () => {
      let now = Date.now();
      const own = await startTestConsole({ sessions: { ttlMs: 1000, now: () => now } });
      try {
        const client = consoleClient(own.url);
        await client.signIn();
        expect((await client.call('GET', '/api/session')).status).toBe(200);
        now += 1001;
        expect((await client.call('GET', '/api/session')).status).toBe(401);
      } finally {
        await own.close();
      }
    });
  });

  describe('CSRF protection of replay, send and sign-out', () => {
    const changing: [string, string, unknown][] = [
      ['POST', '/api/dead-letters/1/replay', {}],
      ['POST', '/api/send', { name: 'order.requested', subject: 's', data: {} }],
      ['DELETE', '/api/session', undefined],
    ];

    it.each(changing)('%s %s without the CSRF header is refused 403', async (method, path, body) => {
      const client = consoleClient(t.url);
      await client.signIn();
      const answer = await client.call(method, path, { body, csrf: null });
      expect(answer.status).toBe(403);
      expect(problemOf(answer)).toMatchObject({ status: 403, title: 'Forbidden', detail: expect.stringContaining('x-csrf-token') });
    });

    it.each(changing)('%s %s with another session’s CSRF token is refused 403', async (method, path, body) => {
      const client = consoleClient(t.url);
      const other = consoleClient(t.url);
      await client.signIn();
      await other.signIn();
      expect((await client.call(method, path, { body, csrf: other.csrfToken })).status).toBe(403);
    });

    it.each(changing)('%s %s from another origin, or with no Origin, is refused 403 even with the token', async (method, path, body) => {
      const client = consoleClient(t.url);
      await client.signIn();
      expect((await client.call(method, path, { body, origin: 'http://evil.example' })).status).toBe(403);
      expect((await client.call(method, path, { body, origin: null })).status).toBe(403);
    });

    it('lets a request from the page itself through', async () => {
      const client = consoleClient(t.url);
      await client.signIn();
      // Replaying a dead letter that does not exist: past the checks, refused by dead-letters.
      expect((await client.call('POST', '/api/dead-letters/999999/replay', { body: {} })).status).toBe(404);
    });

    it('signing out ends the session: the cookie is cleared and the session no longer works', async () => {
      const client = consoleClient(t.url);
      await client.signIn();
      const answer = await client.call('DELETE', '/api/session');
      expect(answer.status).toBe(204);
      expect(answer.headers.get('set-cookie')).toMatch(new RegExp(`^${COOKIE_NAME}=; Max-Age=0; .*HttpOnly; SameSite=Strict`));
      expect((await client.call('GET', '/api/session')).status).toBe(401);
    });
  });

  describe('routes', () => {
    it('answers an unknown API route 404 and a wrong method 405, as problems', async () => {
      const client = consoleClient(t.url);
      await client.signIn();
      expect((await client.call('GET', '/api/nothing')).status).toBe(404);
      const wrong = await client.call('PUT', '/api/send', { body: {} });
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('POST');
    });

    it('checks the limit of the order list', async () => {
      const client = consoleClient(t.url);
      await client.signIn();
      for (const limit of ['0', '201', 'ten', '1.5']) expect((await client.call('GET', `/api/orders?limit=${limit}`)).status, limit).toBe(400);
      expect((await client.call('GET', '/api/orders?limit=5')).body).toEqual([]);
    });

    it('serves the saga map from the registry', async () => {
      const client = consoleClient(t.url);
      await client.signIn();
      const map = (await client.call('GET', '/api/saga-map')).body as { orderLanes: string[] };
      expect(map.orderLanes).toEqual(['place-order', 'reserve-slot', 'charge', 'notify']);
    });

    it('says that no trace was recorded while there is no trace store', async () => {
      const client = consoleClient(t.url);
      await client.signIn();
      const answer = await client.call('GET', '/api/orders/0b7e3c36-2d0e-4a6f-9d0e-0c3e0d6f2a11/trace');
      expect(answer.status).toBe(404);
      expect(problemOf(answer).detail).toMatch(/No trace was recorded .*no trace store/);
    });
  });

  describe('the page', () => {
    it('serves index.html at / with a strict Content-Security-Policy, never cached without revalidation', async () => {
      const res = await fetch(`${t.url}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toContain('ordersaga console');
    });

    it('serves hashed assets as immutable, and answers 304 to a browser that has them', async () => {
      const res = await fetch(`${t.url}/assets/app-abc123.js`);
      expect(res.headers.get('cache-control')).toContain('immutable');
      const again = await fetch(`${t.url}/assets/app-abc123.js`, { headers: { 'if-none-match': res.headers.get('etag')! } });
      expect(again.status).toBe(304);
    });

    it('knows no file outside the build, whatever the path says', async () => {
      for (const path of ['/nothing.js', '/../package.json', '/%2e%2e/package.json', '/assets/../../package.json']) {
        expect((await fetch(`${t.url}${path}`)).status, path).toBe(404);
      }
    });

    it('says so when the page has not been built', async () => {
      const app = createConsole({ ...minimalOptions(), assets: loadAssets('/nonexistent') });
      const served = await serveHandler((req, res) => void app.handle(req, res));
      try {
        const res = await fetch(`${served.url}/`);
        expect(res.status).toBe(503);
        expect(((await res.json()) as { detail: string }).detail).toContain('npm run build');
      } finally {
        await served.close();
      }
    });
  });

  describe('under a base path, and for the hosts it serves', () => {
    it('redirects the bare base path to it with a slash, and leaves other paths to others', async () => {
      const app = createConsole({ ...minimalOptions(), basePath: '/console' });
      const served = await serveHandler(async (req, res) => {
        if (!(await app.handle(req, res))) res.writeHead(418).end();
      });
      try {
        const bare = await fetch(`${served.url}/console`, { redirect: 'manual' });
        expect(bare.status).toBe(308);
        expect(bare.headers.get('location')).toBe('/console/');
        expect((await fetch(`${served.url}/console/`)).status).toBe(200);
        expect((await fetch(`${served.url}/console/api/session`)).status).toBe(401);
        expect((await fetch(`${served.url}/consoles`)).status).toBe(418);
        expect((await fetch(`${served.url}/`)).status).toBe(418);
      } finally {
        await served.close();
      }
    });

    it('scopes the cookie to the base path', async () => {
      const app = createConsole({ ...minimalOptions(), basePath: '/console' });
      const served = await serveHandler((req, res) => void app.handle(req, res));
      try {
        const answer = await consoleClient(`${served.url}/console`).signIn();
        expect(answer.headers.get('set-cookie')).toContain('Path=/console/');
      } finally {
        await served.close();
      }
    });

    it('refuses a Host it does not serve (a page that rebinds its own name to the console’s address)', async () => {
      const app = createConsole({ ...minimalOptions(), allowedHosts: ['console.test:1'] });
      const served = await serveHandler((req, res) => void app.handle(req, res));
      try {
        expect((await fetch(`${served.url}/`)).status).toBe(403);
      } finally {
        await served.close();
      }
    });
  });
});

/** A console whose data sources are never reached by the test using it. */
function minimalOptions() {
  const unused = () => Promise.reject(new Error('not used by this test'));
  return {
    mode: 'local' as const,
    basePath: '',
    adminToken: TEST_ADMIN_TOKEN,
    feed: createLiveFeed(),
    orders: { recent: unused, get: unused, ready: unused, close: async () => undefined },
    deadLetters: { list: unused, replay: unused },
    sender: { send: unused },
    traces: NO_TRACES,
    assets: loadAssets(builtPage()),
    log: silentLogger,
  };
}
