// Not a test of the suite: test/exit-code.test.ts runs it alone and expects it to fail.
import { expect, it } from 'vitest';

it('fails on purpose', () => {
  expect(1).toBe(2);
});
