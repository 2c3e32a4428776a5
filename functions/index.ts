/**
 * The Functions Framework source of every function: one image, one module,
 * the target chosen by FUNCTION_TARGET. Only that target's code is loaded
 * (and its configuration checked) when the module loads, so a bad setting
 * fails at start with a clear message and no process carries the others.
 */
import { http } from '@google-cloud/functions-framework';
import { installProblemFinalHandler } from '../lib/framework-errors.js';
import type { HttpFunction } from '../lib/http-function.js';

type Build = (env: NodeJS.ProcessEnv) => HttpFunction;

/** Every Functions Framework target this module serves. */
export const TARGETS: Record<string, () => Promise<Build>> = {
  'create-account': async () => (await import('./create-account/index.js')).fromEnv,
  deposit: async () => (await import('./deposit/index.js')).fromEnv,
  'place-order': async () => (await import('./place-order/index.js')).fromEnv,
  charge: async () => (await import('./charge/index.js')).fromEnv,
  'reserve-slot': async () => (await import('./reserve-slot/index.js')).fromEnv,
  notify: async () => (await import('./notify/index.js')).fromEnv,
  'dead-letters': async () => (await import('./dead-letters/index.js')).fromEnv,
};

installProblemFinalHandler();

const target = process.env.FUNCTION_TARGET ?? '';
const load = TARGETS[target];
if (!load) {
  throw new Error(`FUNCTION_TARGET must be one of ${Object.keys(TARGETS).join(', ')}; got "${target}"`);
}
http(target, (await load())(process.env));
