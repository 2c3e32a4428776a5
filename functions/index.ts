/**
 * The Functions Framework source of every function: one image, one module,
 * the target chosen by FUNCTION_TARGET. Only the target being served is
 * built (and its configuration checked) when the module loads, so a bad
 * setting fails at start with a clear message.
 */
import { http } from '@google-cloud/functions-framework';
import type { Request, Response } from 'express';
import { installProblemFinalHandler } from '../lib/framework-errors.js';
import type { HttpFunction } from '../lib/http-function.js';
import { fromEnv as charge } from './charge/index.js';
import { fromEnv as createAccount } from './create-account/index.js';
import { fromEnv as deadLetters } from './dead-letters/index.js';
import { fromEnv as deposit } from './deposit/index.js';
import { fromEnv as notify } from './notify/index.js';
import { fromEnv as placeOrder } from './place-order/index.js';
import { fromEnv as reserveSlot } from './reserve-slot/index.js';

/** Every Functions Framework target this module serves. */
export const TARGETS: Record<string, (env: NodeJS.ProcessEnv) => HttpFunction> = {
  'create-account': createAccount,
  deposit,
  'place-order': placeOrder,
  charge,
  'reserve-slot': reserveSlot,
  notify,
  'dead-letters': deadLetters,
};

installProblemFinalHandler();

const target = process.env.FUNCTION_TARGET;
for (const [name, build] of Object.entries(TARGETS)) {
  if (name === target) {
    http(name, build(process.env));
  } else {
    let built: HttpFunction | undefined;
    http(name, (req: Request, res: Response) => (built ??= build(process.env))(req, res));
  }
}
