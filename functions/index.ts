/**
 * The Functions Framework source of every function: one image, one module,
 * the target chosen by FUNCTION_TARGET from the registry. Its configuration
 * is checked when the module loads, so a bad setting fails at start with a
 * clear message.
 */
import { http } from '@google-cloud/functions-framework';
import { adaptFramework } from '../lib/framework.js';
import { functionFromEnv } from '../lib/runtime.js';
import { FUNCTIONS, OBSERVERS, definitionOf } from './registry.js';

/** Every Functions Framework target this module serves, from the registry. */
export const TARGETS: readonly string[] = [...FUNCTIONS.map((fn) => fn.name), ...OBSERVERS.map((o) => o.name)];

adaptFramework();

const target = process.env.FUNCTION_TARGET ?? '';
if (!TARGETS.includes(target)) {
  throw new Error(`FUNCTION_TARGET must be one of ${TARGETS.join(', ')}; got "${target}"`);
}
const observer = OBSERVERS.find((o) => o.name === target);
http(target, observer ? (await observer.load())(process.env) : (await functionFromEnv(definitionOf(target), process.env)).handler);
