/** `k6`: check, sleep, group, fail. */
import { emit, sleepSync } from '../vu.js';

/** Each named check adds a sample to the `checks` rate, tagged with its name. */
export function check<T>(value: T, sets: Record<string, ((value: T) => unknown) | unknown>, tags: Record<string, string> = {}): boolean {
  let all = true;
  for (const [name, test] of Object.entries(sets)) {
    const ok = Boolean(typeof test === 'function' ? (test as (value: T) => unknown)(value) : test);
    emit('checks', 'rate', ok ? 1 : 0, { ...tags, check: name });
    all &&= ok;
  }
  return all;
}

export const sleep = (seconds: number): void => sleepSync(seconds);

export function group<T>(_name: string, fn: () => T): T {
  return fn();
}

export function fail(message?: string): never {
  throw new Error(message ?? 'fail');
}

export default { check, sleep, group, fail };
