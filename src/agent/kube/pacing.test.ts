import { describe, expect, it } from 'vitest';
import { TokenBucket, backoffDelayMs } from './pacing.js';
import type { Clock } from './runtime.js';

function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  return {
    now: () => now,
    setTimer: () => ({ cancel: () => undefined }),
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('TokenBucket', () => {
  it('lets a burst through, then spaces reservations at the rate', () => {
    const clock = manualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 3, clock });
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    expect(bucket.reserve()).toBe(100);
    expect(bucket.reserve()).toBe(200);
    clock.advance(1000);
    // 2 tokens of debt repaid, refilled up to the burst only.
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0, 100]);
  });

  it('rejects a bad configuration naming the value', () => {
    const clock = manualClock();
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1, clock })).toThrow(
      'rate must be a positive number, got 0',
    );
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0.5, clock })).toThrow(
      'burst must be an integer ≥ 1, got 0.5',
    );
  });
});

describe('backoffDelayMs', () => {
  it('doubles from the initial delay up to the cap', () => {
    expect([1, 2, 3, 4, 7, 8, 50].map((n) => backoffDelayMs(n, { jitter: 0 }))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000, 60_000,
    ]);
    expect(backoffDelayMs(3, { initialMs: 100, maxMs: 250, jitter: 0 })).toBe(250);
  });

  it('spreads retries over up to the jitter share below the delay', () => {
    expect(backoffDelayMs(2, { random: () => 0 })).toBe(2000);
    expect(backoffDelayMs(2, { random: () => 0.999 })).toBe(1600);
    expect(backoffDelayMs(2, { jitter: 1, random: () => 0.5 })).toBe(1000);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelayMs(5)));
    expect(spread.size).toBeGreaterThan(10);
    for (const delay of spread) {
      expect(delay).toBeGreaterThanOrEqual(12_800);
      expect(delay).toBeLessThanOrEqual(16_000);
    }
  });
});
