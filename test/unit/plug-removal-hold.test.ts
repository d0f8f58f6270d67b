/**
 * Mass-removal guard (DESIGN §3.4): more than `share` of owned ports removed at once is held
 * for the grace period, then goes ahead if still planned.
 */
import { describe, expect, it } from 'vitest';
import { decideRemovalHold } from '../../src/plug/index.js';

const base = { share: 0.5, graceMs: 60_000, nowMs: 1_000_000 };

describe('decideRemovalHold', () => {
  it.each([
    ['no removals', 0, 10],
    ['half of the owned ports (not more than the share)', 5, 10],
    ['one of ten', 1, 10],
  ])('proceeds with %s', (_label, removeCount, ownedCount) => {
    expect(decideRemovalHold({ ...base, removeCount, ownedCount })).toEqual({
      kind: 'proceed',
      reason: 'belowShare',
    });
  });

  it('holds a round removing more than the share, starting now, for the grace period', () => {
    expect(decideRemovalHold({ ...base, removeCount: 6, ownedCount: 10 })).toEqual({
      kind: 'hold',
      heldSinceMs: 1_000_000,
      untilMs: 1_060_000,
      count: 6,
    });
  });

  it('keeps holding from the original start, then proceeds when the grace period is over', () => {
    const heldSinceMs = 1_000_000;
    expect(
      decideRemovalHold({ ...base, removeCount: 10, ownedCount: 10, heldSinceMs, nowMs: 1_059_999 }),
    ).toMatchObject({
      kind: 'hold',
      untilMs: 1_060_000,
    });
    expect(
      decideRemovalHold({ ...base, removeCount: 10, ownedCount: 10, heldSinceMs, nowMs: 1_060_000 }),
    ).toEqual({
      kind: 'proceed',
      reason: 'graceExpired',
    });
  });

  it('the only owned port is held by the rule as written; minimumCount exempts small rounds', () => {
    expect(decideRemovalHold({ ...base, removeCount: 1, ownedCount: 1 })).toMatchObject({ kind: 'hold' });
    expect(decideRemovalHold({ ...base, removeCount: 1, ownedCount: 1, minimumCount: 2 })).toMatchObject({
      kind: 'proceed',
    });
  });

  it('share 1 never holds, share 0 holds any removal', () => {
    expect(decideRemovalHold({ ...base, share: 1, removeCount: 10, ownedCount: 10 })).toMatchObject({
      kind: 'proceed',
    });
    expect(decideRemovalHold({ ...base, share: 0, removeCount: 1, ownedCount: 10 })).toMatchObject({
      kind: 'hold',
    });
  });

  it.each([
    [{ share: 1.5 }, 'removal share must be within 0..1, got 1.5'],
    [{ share: Number.NaN }, 'removal share must be within 0..1, got NaN'],
    [{ graceMs: -1 }, 'removal grace must be >= 0 ms, got -1'],
  ])('rejects %j naming the value', (bad, message) => {
    expect(() => decideRemovalHold({ ...base, removeCount: 1, ownedCount: 1, ...bad })).toThrow(message);
  });
});
