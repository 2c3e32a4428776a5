import { describe, expect, it } from 'vitest';
import { DurationError, parseDuration } from './durations.js';

describe('ISO-8601 durations', () => {
  it.each([
    ['PT0.2S', 200],
    ['PT0,5S', 500],
    ['PT1S', 1_000],
    ['PT1M', 60_000],
    ['PT1H30M', 5_400_000],
    ['P1D', 86_400_000],
    ['P1DT1S', 86_401_000],
    ['P2W', 1_209_600_000],
    ['pt10s', 10_000],
    ['PT0S', 0],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', '1S', 'PT-1S', '-PT1S', 'PT1.S', 'P1H', 'PT1D', 'soon', 'PT1S2'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
  });
});
