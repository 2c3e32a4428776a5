/**
 * The console in a real browser (`npm run test:browser`): Debian's Chromium
 * driven by playwright-core against a whole stack started as a user starts
 * it. It signs in, watches an order placed through the API arrive live,
 * opens its saga and its trace (from the stand-in's own trace receiver),
 * replays a dead letter and sees the replay's outcome live.
 * Screenshots go to .data/screenshots/ for people to look at.
 *
 * In CI (CI=true) a missing Chromium fails the run; elsewhere the file is
 * skipped with the reason.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudEvent, HTTP } from 'cloudevents';
import pg from 'pg';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_NAMES } from '../events/index.js';
import { newId } from '../lib/ids.js';
import { silentLogger } from '../lib/log.js';
import { request } from '../test/harness.js';
import { startStackProcess, type RunningStack } from '../test/stack-process.js';
import { createLiveFeed } from './server/feed.js';
import { serveLocalConsole, type ServedConsole } from './server/local.js';
import { fixtureTrace } from './server/trace-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCREENSHOTS = path.join(root, '.data', 'screenshots');
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const present = existsSync(CHROMIUM);

describe.skipIf(!present && !inCi)(`the console in Chromium${present ? '' : ` (skipped: no ${CHROMIUM}; apt-get install -y chromium)`}`, () => {
  let stack: RunningStack;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let orderId: string;

  beforeAll(async () => {
    if (!present) throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (apt-get install -y chromium)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    stack = await startStackProcess();
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'ordersaga-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 900 } });
    page = context.pages()[0] ?? (await context.newPage());
    // What the page complains of goes into a failure's message.
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => message.type() === 'error' && pageErrors.push(message.text()));
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await stack?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  const pageErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const api = (method: string, p: string, options: Parameters<typeof request>[3] = {}) => request(stack.gatewayUrl, method, p, options);
  const toBroker = async (type: string, data: Record<string, unknown>) => {
    const message = HTTP.binary(new CloudEvent({ id: newId(), source: '/browser-test', type, datacontenttype: 'application/json', data }));
    const res = await fetch(stack.brokerUrl, { method: 'POST', headers: message.headers as Record<string, string>, body: message.body as string });
    expect(res.status).toBe(202);
  };

  it('signs in with the admin token into an HttpOnly, SameSite=Strict session, and no token in the URL', async () => {
    expect(stack.consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await page.goto(stack.consoleUrl);
    const field = page.getByLabel('Admin token');
    expect(await field.getAttribute('type')).toBe('password');
    await shot('01-sign-in');
    await field.fill(stack.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation').waitFor();
    await page.locator('.connection.up').waitFor();
    const [cookie] = await context.cookies(stack.consoleUrl);
    expect(cookie).toMatchObject({ name: 'ordersaga_console', httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(page.url()).not.toContain(stack.adminToken);
    expect(cookie!.value).not.toContain(stack.adminToken);
  });

  it('shows an order placed through the API as it happens, with each delivery', async () => {
    await page.goto(`${stack.consoleUrl}/#/live`);
    const account = (await api('POST', '/accounts', { body: { email: `${newId()}@example.com`, name: 'Ada' } })).body as { id: string; token: string };
    await api('POST', `/accounts/${account.id}/deposits`, { token: account.token, body: { amount: 10_000 }, headers: { 'idempotency-key': newId() } });
    const slot = (await api('POST', '/slots', { token: stack.adminToken, body: { name: 'Race', capacity: 2, price: 3_000 } })).body as { id: string };
    const placed = await api('POST', '/orders', { token: account.token, body: { accountId: account.id, slotId: slot.id }, headers: { 'idempotency-key': newId() } });
    expect(placed.status).toBe(202);
    orderId = (placed.body as { id: string }).id;
    const row = (type: string) => page.locator(`tr[data-type="dev.ordersaga.${type}"][data-subject="${orderId}"]`);
    await row('order.placed').waitFor();
    await row('notification.sent').waitFor({ timeout: 15_000 });
    await expect.poll(() => row('order.placed').locator('.chip.outcome-replied').count()).toBeGreaterThan(0);
    await shot('02-live');
    // The detail view: attributes, extensions and data.
    await row('order.confirmed').click();
    const detail = page.getByLabel('event detail');
    await detail.getByText('knativearrivaltime').waitFor();
    expect(await detail.locator('pre.data').first().textContent()).toContain(orderId);
    await shot('03-event-detail');
    await detail.getByRole('button', { name: 'close' }).click();
  });

  it("opens the order's saga from its id: a lane per function, each event in place", async () => {
    await page.locator(`tr[data-type="dev.ordersaga.order.placed"][data-subject="${orderId}"] a`).click();
    await page.locator('.order h2 .status-confirmed').waitFor();
    expect(await page.locator('.lane-name').allTextContents()).toEqual(['place-order', 'reserve-slot', 'charge', 'notify']);
    const laneOf = (event: string) => page.locator(`.step[data-event="${event}"]`).getAttribute('data-lane');
    expect(await laneOf('order.placed')).toBe('place-order');
    expect(await laneOf('slot.reserved')).toBe('reserve-slot');
    expect(await laneOf('payment.charged')).toBe('charge');
    expect(await laneOf('order.confirmed')).toBe('place-order');
    expect(await laneOf('notification.sent')).toBe('notify');
    await shot('04-order-saga');
  });

  it("draws the order's real trace, from the stand-in's own receiver: every function and the Broker's spans", async () => {
    const waterfall = page.getByLabel('trace waterfall');
    const expected = [
      'place-order CloudEvents Create dev.ordersaga.order.placed',
      'broker-ingress.knative-eventing broker:default.ordersaga',
      'broker-filter.knative-eventing trigger:reserve-slot-on-order-placed.ordersaga',
      'reserve-slot CloudEvents Process dev.ordersaga.order.placed',
      'charge CloudEvents Process dev.ordersaga.slot.reserved',
      'notify CloudEvents Process dev.ordersaga.order.confirmed',
      'notify CloudEvents Create dev.ordersaga.notification.sent',
    ];
    const missing = async () => {
      const text = (await waterfall.locator('.span .name').allTextContents()).join('\n');
      return expected.filter((e) => !text.includes(e));
    };
    // Each process exports within an interval of its own: the page is opened again until every part is in.
    await expect
      .poll(async () => {
        await page.reload();
        await waterfall.waitFor({ timeout: 5_000 }).catch(() => undefined);
        return missing();
      }, { timeout: 20_000 })
      .toEqual([]);
    expect(await waterfall.getAttribute('data-trace-id')).toMatch(/^[0-9a-f]{32}$/);
    await shot('04b-order-trace');
  });

  it('replays a dead letter and shows the outcome live', async () => {
    // An order for an account that does not exist yet: place-order refuses it (400), the Broker dead-letters it.
    const accountId = newId();
    const slot = (await api('POST', '/slots', { token: stack.adminToken, body: { name: 'Late', capacity: 2, price: 1_000 } })).body as { id: string };
    const lateOrder = newId();
    await toBroker('dev.ordersaga.order.requested', { accountId, slotId: slot.id, orderId: lateOrder });
    await page.goto(`${stack.consoleUrl}/#/dead-letters`);
    const letter = page.locator('.dead-letter').filter({ hasText: lateOrder });
    await expect.poll(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      return letter.count();
    }, { timeout: 15_000 }).toBe(1);
    expect(await letter.textContent()).toContain('400');
    expect(await letter.textContent()).toContain(`No account ${accountId}`);
    await shot('05-dead-letter');
    // The account comes into being, with money; now the order can go through.
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    const balance = async () => (await db.query<{ balance: string }>('select balance from balances where account_id = $1', [accountId])).rows[0]?.balance;
    try {
      await toBroker('dev.ordersaga.account.requested', { accountId, email: `${newId()}@example.com`, name: 'Late' });
      await expect.poll(balance, { timeout: 15_000 }).toBeDefined();
      await toBroker('dev.ordersaga.deposit.requested', { accountId, amount: 5_000 });
      await expect.poll(async () => Number(await balance()), { timeout: 15_000 }).toBe(5_000);
    } finally {
      await db.end();
    }
    await letter.getByRole('button', { name: 'Replay' }).click();
    await letter.locator('.replay .chip.outcome-replied').filter({ hasText: 'place-order-on-order-requested' }).waitFor({ timeout: 15_000 });
    await shot('06-dead-letter-replayed');
    await letter.getByRole('link', { name: `order ${lateOrder}` }).click();
    await page.locator('.order h2 .status-confirmed').waitFor({ timeout: 15_000 });
    await page.locator('.step[data-event="notification.sent"]').waitFor({ timeout: 15_000 });
    await shot('07-replayed-order');
  });

  it('renders the catalogue from events/asyncapi.yaml, and the send form refuses invalid data before sending', async () => {
    await page.goto(`${stack.consoleUrl}/#/catalogue`);
    await page.locator('#message-order\\.placed').waitFor();
    expect(await page.locator('.message').count()).toBe(EVENT_NAMES.length);
    await shot('08-catalogue');
    await page.goto(`${stack.consoleUrl}/#/send`);
    await page.getByLabel('Type').selectOption('deposit.requested');
    await page.getByLabel('Data').fill('{"accountId": "not-a-uuid", "amount": -1}');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('alert').getByText('/amount').waitFor();
    await shot('09-send-refused');
  });

  it('draws the saga diagram generated from the registry', async () => {
    await page.goto(`${stack.consoleUrl}/#/saga`);
    await page.locator('.diagram svg, .saga .problem').first().waitFor({ timeout: 15_000 }).catch(() => undefined);
    await shot('07-saga-diagram');
    expect(await page.locator('.saga .problem').allTextContents(), pageErrors.join('\n')).toEqual([]);
    expect(await page.locator('.diagram svg').count(), pageErrors.join('\n')).toBe(1);
    for (const fn of ['place-order', 'reserve-slot', 'charge', 'notify']) await page.locator('.diagram').getByText(fn, { exact: true }).first().waitFor();
    await page.locator('.diagram').getByText('compensation').first().waitFor();
    // Mermaid's styles reach the drawing despite style-src 'self': unstyled, SVG fills boxes and edges black.
    const fills = await page.locator('.diagram .node rect, .diagram .flowchart-link').evaluateAll((els) => els.map((el) => el.ownerDocument.defaultView!.getComputedStyle(el).fill));
    expect(fills.length).toBeGreaterThan(10);
    expect(fills.filter((fill) => fill === 'rgb(0, 0, 0)')).toEqual([]);
    await shot('07-saga-diagram');
  });

  describe('the waterfall of a fixture trace (a retried attempt among its spans)', () => {
    let served: ServedConsole;
    beforeAll(async () => {
      const trace = fixtureTrace(orderId);
      served = await serveLocalConsole({
        feed: createLiveFeed(),
        port: 0,
        databaseUrl: stack.databaseUrl,
        gatewayUrl: stack.gatewayUrl,
        brokerUrl: stack.brokerUrl,
        adminToken: stack.adminToken,
        assetsDir: path.join(root, 'dist', 'console'),
        log: silentLogger,
        traces: { available: true, trace: async (id) => (id === trace.traceId ? trace : undefined), orderTrace: async (id) => (id === orderId ? trace : undefined) },
      });
    });
    afterAll(() => served?.close());

    it('draws the trace waterfall of a fixture trace in the order view', async () => {
      // localhost, not 127.0.0.1: a cookie is per host, not per port, and the stack's console keeps its own.
      const url = served.url.replace('127.0.0.1', 'localhost');
      const other = await context.newPage();
      await other.goto(url);
      await other.getByLabel('Admin token').fill(stack.adminToken);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByRole('navigation').waitFor();
      await other.goto(`${url}/#/orders/${orderId}`);
      const waterfall = other.getByLabel('trace waterfall');
      await waterfall.waitFor();
      expect(await waterfall.locator('.span').count()).toBe(fixtureTrace(orderId).spans.length);
      expect(await waterfall.locator('.span.status-error').count()).toBe(1);
      expect(await waterfall.locator('.span').first().textContent()).toContain('POST /orders');
      await other.screenshot({ path: path.join(SCREENSHOTS, '10-trace-waterfall.png'), fullPage: true });
      await other.close();
    });
  });
});
