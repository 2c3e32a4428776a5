/**
 * Errors the Functions Framework raises before our handler runs (malformed
 * JSON, a body its parser refuses) reach express's final handler, which
 * answers with an HTML page that, outside production, carries a stack
 * trace. This replaces that final handler, for every express app in the
 * process, with one that answers an RFC 9457 problem document and no
 * internals, so a bad body gets the same 400 however it is bad.
 */
import type { Request, Response } from 'express';
import express from 'express';
import { sendProblem } from './problem.js';

type Handle = (req: Request, res: Response, callback?: (err?: unknown) => void) => void;

let installed = false;

export function installProblemFinalHandler(): void {
  if (installed) return;
  installed = true;
  const app = express.application as unknown as { handle: Handle };
  const original = app.handle;
  app.handle = function handle(this: unknown, req, res, callback) {
    return original.call(this, req, res, callback ?? ((err) => finalHandler(req, res, err)));
  };
}

function finalHandler(req: Request, res: Response, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e = (err ?? {}) as { status?: number; statusCode?: number; type?: string };
  const status = err === undefined ? 404 : (e.status ?? e.statusCode ?? 500);
  const client = status >= 400 && status < 500;
  sendProblem(res, {
    type: 'about:blank',
    title: err === undefined ? 'Not Found' : client ? 'Bad Request' : 'Internal Server Error',
    // Knative and SPEC §3 want bad input as 400, whatever the parser called it.
    status: client && status !== 404 ? 400 : status,
    detail:
      err === undefined
        ? `No route for ${req.method} ${req.path}`
        : e.type === 'entity.parse.failed'
          ? 'The request body is not valid JSON'
          : client
            ? 'The request body could not be read'
            : 'An unexpected error occurred.',
    instance: req.path,
  });
}
