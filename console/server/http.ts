/** Small node:http helpers of the console: bodies in, JSON and problems out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ValidationError } from '../../lib/errors.js';
import { sendProblem, toProblem } from '../../lib/problem.js';

/** API request bodies larger than this are refused (as the functions do). */
export const API_BODY_LIMIT = 64 * 1024;

/**
 * The request body. Under the Functions Framework the body has been read
 * already (into `rawBody`); served by node:http directly it is read here.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const framework = req as IncomingMessage & { rawBody?: unknown; _body?: boolean };
  if (Buffer.isBuffer(framework.rawBody)) {
    if (framework.rawBody.length > limit) throw new ValidationError(`The request body exceeds ${limit} bytes`);
    return framework.rawBody;
  }
  if (framework._body || req.readableEnded) return Buffer.alloc(0);
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new ValidationError(`The request body exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ValidationError(`The request body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The JSON body of an API request; anything else is a 400. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!/^application\/(.+\+)?json\b/i.test(req.headers['content-type'] ?? '')) {
    throw new ValidationError('Content-Type must be application/json');
  }
  const body = await readBody(req, API_BODY_LIMIT);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ValidationError('The request body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}

/** Any thrown value as a problem document (RFC 9457), through the project's one writer. */
export function sendError(res: ServerResponse, err: unknown, instance: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendProblem(res, toProblem(err, instance));
}

/**
 * What every console response carries: its page loads only its own scripts
 * and styles, talks only to its own origin, and cannot be framed.
 */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}
