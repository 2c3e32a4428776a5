/** What ordersaga changes about the Functions Framework's server. */
import { describe, expect, it } from 'vitest';
import { request, serveFunction } from '../test/harness.js';

describe('the Functions Framework, adapted', () => {
  it('runs each request outside any Node domain', async () => {
    const fn = await serveFunction(async (_req, res) => {
      res.status(200).json({ domain: (process as { domain?: unknown }).domain ? 'entered' : 'none' });
    });
    try {
      expect((await request(fn.url, 'GET', '/')).body).toEqual({ domain: 'none' });
    } finally {
      await fn.close();
    }
  });

  it('answers a body its parser refuses with a 400 problem document, not an HTML page', async () => {
    const fn = await serveFunction(async (_req, res) => {
      res.status(204).end();
    });
    try {
      const res = await request(fn.url, 'POST', '/', { raw: '{"broken":', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, detail: 'The request body is not valid JSON' });
    } finally {
      await fn.close();
    }
  });
});
