/** Quarantine backoff and culprit isolation, driven by an injected clock (no real time passes). */
import { describe, expect, it } from 'vitest';
import type { TxnOutcome } from '../../src/ovsdb/index.js';
import { noopLogger, type Plan } from '../../src/plug/index.js';
import { Quarantine, RateLimitedLog, type WorkItem } from '../../src/agent/index.js';

function rig() {
  let nowMs = 1_000_000;
  const clock = { now: () => nowMs };
  const quarantine = new Quarantine(clock, new RateLimitedLog(noopLogger, clock.now));
  return { quarantine, advance: (ms: number) => (nowMs += ms), now: () => nowMs };
}

const work = (...ports: string[]): WorkItem[] =>
  ports.map((logicalPort) => ({ logicalPort, kind: 'create', prepared: [] }));

const emptyPlan: Plan = {
  create: [],
  update: [],
  replug: [],
  remove: [],
  blocked: [],
  held: [],
  unchanged: [],
  observed: [],
  release: [],
  warnings: [],
  ownedCount: 0,
  bridgeInterfaces: { owned: new Map(), foreign: new Map(), ownedCount: 0 },
};

const failure: TxnOutcome = {
  status: 'error',
  scope: 'op',
  opIndex: 3,
  error: 'constraint violation',
  details: 'bad',
};
const chosen = (q: Quarantine, ...ports: string[]): string[] =>
  q.select(emptyPlan, work(...ports)).chosen.map((w) => w.logicalPort);

describe('Quarantine', () => {
  it('sets a failed port aside for 1 s, doubling per further failure up to 30 s, and shows the error', () => {
    const { quarantine: q, advance, now } = rig();
    const backoffs: number[] = [];
    for (let i = 0; i < 7; i++) {
      q.fail(work('a'), 'a', failure);
      const selection = q.select(emptyPlan, work('a', 'b'));
      expect(selection.chosen.map((w) => w.logicalPort)).toEqual(['b']);
      expect(selection.skipped.map((w) => w.logicalPort)).toEqual(['a']);
      const wait = (selection.wakeAtMs ?? 0) - now();
      backoffs.push(wait);
      advance(wait - 1);
      expect(chosen(q, 'a')).toEqual([]);
      advance(1);
      expect(chosen(q, 'a')).toEqual(['a']);
    }
    expect(backoffs).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(q.errorOf('a')).toBe('constraint violation: bad');
    q.succeeded('a');
    expect(q.errorOf('a')).toBeUndefined();
  });

  it('retries the ports of an unattributed error one per round, then all together once cleared', () => {
    const { quarantine: q, advance } = rig();
    q.fail(work('a', 'b'), undefined, { status: 'notLocked' });
    expect(q.errorOf('b')).toBe('not locked');
    advance(1_000);
    const first = q.select(emptyPlan, work('a', 'b', 'c'));
    expect(first.isolating).toBe(true);
    expect(first.chosen.map((w) => w.logicalPort)).toEqual(['a']);
    expect(first.skipped.map((w) => w.logicalPort)).toEqual(['b', 'c']);
    q.succeeded('a');
    expect(chosen(q, 'a', 'b', 'c')).toEqual(['b']);
    q.succeeded('b');
    expect(q.select(emptyPlan, work('a', 'b', 'c')).isolating).toBe(false);
  });

  it('a lone port of an unattributed error is not isolated', () => {
    const { quarantine: q, advance } = rig();
    q.fail(work('a'), undefined, failure);
    advance(1_000);
    expect(q.select(emptyPlan, work('a', 'b')).isolating).toBe(false);
  });

  it('forgets ports with nothing left to write and ports gone from the plan', () => {
    const { quarantine: q } = rig();
    q.fail(work('a', 'b', 'c'), undefined, failure);
    const unchanged = { logicalPort: 'a' } as Plan['unchanged'][number];
    const blocked = { logicalPort: 'c' } as Plan['blocked'][number];
    q.forgetSettled({ ...emptyPlan, unchanged: [unchanged], blocked: [blocked] });
    expect([q.errorOf('a'), q.errorOf('b'), q.errorOf('c')]).toEqual([
      undefined,
      undefined,
      'constraint violation: bad',
    ]);
  });
});
