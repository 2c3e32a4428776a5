/**
 * Imported before the script, so that `__ENV` (k6's `-e NAME=value`) is
 * there when the script's init code reads it.
 */
import { workerData } from 'node:worker_threads';
import type { VuData } from './vu.js';

(globalThis as { __ENV?: Record<string, string> }).__ENV = { ...(workerData as VuData).env };
