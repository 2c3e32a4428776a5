/**
 * The page's built files (Vite's output in `dist/console/`), read into
 * memory once at start: the whole page is some hundred kilobytes, and a
 * request can only ever name a file that was there, so no path from a URL
 * ever reaches the file system.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

export interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
  /** Vite names files under `assets/` by their content's hash, so they never change. */
  immutable: boolean;
}

export interface Assets {
  /** Whether a built page was found. */
  readonly built: boolean;
  /** The file at `/`-relative `urlPath` (`/` is `index.html`). */
  get(urlPath: string): Asset | undefined;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.yaml': 'application/yaml; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    const rel = `${prefix}/${name}`;
    return statSync(full).isDirectory() ? filesUnder(full, rel) : [rel];
  });
}

export function loadAssets(dir: string): Assets {
  const files = new Map<string, Asset>();
  if (existsSync(path.join(dir, 'index.html'))) {
    for (const rel of filesUnder(dir)) {
      const type = TYPES[path.extname(rel)];
      if (type === undefined) continue;
      const body = readFileSync(path.join(dir, rel));
      files.set(rel, { body, contentType: type, etag: `"${createHash('sha1').update(body).digest('base64url')}"`, immutable: rel.startsWith('/assets/') });
    }
  }
  return {
    built: files.has('/index.html'),
    get: (urlPath) => files.get(urlPath === '/' ? '/index.html' : urlPath),
  };
}

/** Serves one asset, answering 304 when the browser has it already. */
export function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  res.setHeader('Content-Type', asset.contentType);
  res.setHeader('ETag', asset.etag);
  res.setHeader('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (req.headers['if-none-match'] === asset.etag) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Length', asset.body.length);
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}
