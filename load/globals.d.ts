/**
 * Globals the k6 runtime provides that @types/k6 does not declare (it leaves
 * `console` to lib.dom or @types/node, neither of which describes k6).
 */
declare global {
  /** k6's console: each method logs at its level (`debug` only with `--verbose`). */
  var console: {
    log(...values: unknown[]): void;
    info(...values: unknown[]): void;
    warn(...values: unknown[]): void;
    error(...values: unknown[]): void;
    debug(...values: unknown[]): void;
  };
}

export {};
