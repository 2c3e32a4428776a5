/**
 * The part of newman's Node API that scripts/test-postman.ts uses. newman
 * ships no types and @types/newman is not a dependency.
 */
declare module 'newman' {
  import type { EventEmitter } from 'node:events';

  export interface RunOptions {
    /** A path or URL of a collection, or the collection itself. */
    collection: string | object;
    environment?: string | object;
    envVar?: { key: string; value: string }[];
    folder?: string | string[];
    reporters?: string | string[];
    reporter?: Record<string, Record<string, unknown>>;
    /** Print each request's and response's headers and body (the CLI's `--verbose`). */
    verbose?: boolean;
    timeoutRequest?: number;
    bail?: boolean;
  }

  export interface Stat {
    total: number;
    pending: number;
    failed: number;
  }

  export interface Failure {
    error: { name: string; message: string; test?: string };
    at?: string;
    source?: { name?: string };
    parent?: { name?: string };
  }

  export interface Summary {
    run: {
      stats: Record<'iterations' | 'items' | 'scripts' | 'prerequests' | 'requests' | 'tests' | 'assertions' | 'testScripts' | 'prerequestScripts', Stat>;
      failures: Failure[];
      error?: unknown;
      timings: { started: number; completed: number };
    };
  }

  export function run(options: RunOptions, callback: (err: Error | null, summary: Summary) => void): EventEmitter;

  const newman: { run: typeof run };
  export default newman;
}
