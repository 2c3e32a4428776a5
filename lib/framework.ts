/**
 * What ordersaga changes about the Functions Framework's server, and why.
 * Both are installed once per process, before the first request.
 */
import domain from 'node:domain';
import type { Request, Response } from 'express';
import express from 'express';
import { sendProblem } from './problem.js';

/** Everything below, once. */
export function adaptFramework(): void {
  installProblemFinalHandler();
  runRequestsWithoutDomains();
}

let domainless = false;

/**
 * The framework runs each request in a new Node `domain`, to turn an
 * uncaught throw into a 500. Creating a domain enables Node's domain
 * async hook for the rest of the process, and from then on every promise
 * is tracked to its destruction: in a profile of the functions, about a
 * tenth of their CPU (the AWS SDK's promises made it more in notify). Our
 * handlers catch their own errors (lib/http-function.ts); an exception
 * nothing catches is a bug, and the framework's own process handler still
 * ends the process (the supervisor or Knative restarts it, the Broker
 * redelivers). So each request runs in a scope that only runs it.
 */
function runRequestsWithoutDomains(): void {
  if (domainless) return;
  domainless = true;
  const scope = { on: () => scope, run: <T>(work: () => T): T => work() };
  (domain as unknown as { create: () => unknown }).create = () => scope;
}

/*
 * Errors the framework raises before our handler runs (malformed JSON, a
 * body its parser refuses) reach express's final handler, which answers
 * with an HTML page that, outside production, carries a stack trace. This
 * replaces that final handler, for every express app in the process, with
 * one that answers an RFC 9457 problem document and no internals, so a bad
 * body gets the same 400 however it is bad.
 */

type Handle = (req: Request, res: Response, callback?: (err?: unknown) => void) => void;

let installed = false;

function installProblemFinalHandler(): void {
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
