/** A counting semaphore: at most `limit` holders, the rest wait first come, first served. */
export class Semaphore {
  private holders = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
  }

  /** Resolves once a place is free, with the function that gives it back. */
  async acquire(): Promise<() => void> {
    if (this.holders < this.limit) {
      this.holders += 1;
    } else {
      // The releasing holder hands its place straight to us.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.holders -= 1;
    };
  }
}
