import type { ServerResponse } from 'node:http';
import { OrdersagaError, isTransient } from './errors.js';

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Maps any thrown value to a problem document. Named errors keep their
 * status and detail; anything else becomes a 500/503 whose detail never
 * carries a stack trace or SQL.
 */
export function toProblem(err: unknown, instance?: string): Problem {
  if (err instanceof OrdersagaError) {
    return { type: 'about:blank', title: err.title, status: err.status, detail: err.message, instance, ...err.extensions };
  }
  if (isTransient(err)) {
    return {
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'A dependency is temporarily unavailable; retry the request.',
      instance,
    };
  }
  return { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'An unexpected error occurred.', instance };
}

/**
 * The one writer of problem documents, for the functions (an express
 * response is a Node one) and the stand-in's gateway alike.
 */
export function sendProblem(res: ServerResponse, problem: Problem): void {
  if (problem.status === 503) res.setHeader('Retry-After', '1');
  res.statusCode = problem.status;
  res.setHeader('Content-Type', `${PROBLEM_CONTENT_TYPE}; charset=utf-8`);
  res.end(JSON.stringify(problem));
}
