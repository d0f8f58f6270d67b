/**
 * The removal guard's table of cases (DESIGN §3.4), one test each, plus take-over rights. The
 * guard is deterministic: rounds are driven by hand with explicit times.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RemovalGuard, type RemovalRound } from '../../src/plug/index.js';

const GRACE = 60_000;

function guard(minCount = 8, share = 0.5): RemovalGuard {
  return new RemovalGuard({ share, minCount, graceMs: GRACE });
}

function round(nowMs: number, wanted: string[], unwanted: string[], extra: Partial<RemovalRound> = {}) {
  return { nowMs, wanted, unwanted, ownedCount: wanted.length + unwanted.length, sbInEffect: true, ...extra };
}

/** A guard whose session had its first view with `ports` wanted. */
function synced(ports: string[], g = guard()): RemovalGuard {
  g.review(round(0, ports, []));
  return g;
}

describe('RemovalGuard: the five cases of DESIGN §3.4', () => {
  it('case 1: a CMS deletion within a session goes at once, on a one-port node too', () => {
    const g = synced(['vm1']);
    expect(g.review(round(1_000, [], ['vm1'])).held.size).toBe(0);
  });

  it('case 1: a handful of deletions at once is never held (default minimum 8)', () => {
    const ports = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const g = synced(ports);
    expect(g.review(round(1_000, [], ports)).held.size).toBe(0);
  });

  it('case 1: a round above the share and the minimum is held for the grace, then goes', () => {
    const ports = Array.from({ length: 10 }, (_, i) => `p${i}`);
    const g = synced(ports);
    const gone = ports.slice(0, 8);
    const review = g.review(round(1_000, ports.slice(8), gone));
    expect([...review.held.keys()].sort()).toEqual([...gone].sort());
    expect(review.held.get('p0')).toEqual({ cause: 'massRemoval', sinceMs: 1_000, untilMs: 61_000 });
    expect(g.review(round(60_999, ports.slice(8), gone)).held.size).toBe(8);
    expect(g.review(round(61_000, ports.slice(8), gone)).held.size).toBe(0);
  });

  it('case 1: the share counts the owned ports (8 of 20 is below one half)', () => {
    const ports = Array.from({ length: 20 }, (_, i) => `p${i}`);
    const g = synced(ports);
    expect(g.review(round(1_000, ports.slice(8), ports.slice(0, 8))).held.size).toBe(0);
  });

  it('case 2: a port missing after a reconnect/resync is held, whatever the node size (one port)', () => {
    const g = synced(['vm1']);
    g.beginSession('resync');
    const review = g.review(round(5_000, [], ['vm1']));
    expect(review.held.get('vm1')).toEqual({ cause: 'resync', sinceMs: 5_000, untilMs: 65_000 });
    // It goes only if still unwanted for the whole grace …
    expect(g.review(round(64_999, [], ['vm1'])).held.has('vm1')).toBe(true);
    expect(g.review(round(65_000, [], ['vm1'])).held.has('vm1')).toBe(false);
  });

  it('case 2: a held port wanted again drops out; if it goes again within the session, at once', () => {
    const g = synced(['vm1']);
    g.beginSession('resync');
    expect(g.review(round(5_000, [], ['vm1'])).held.has('vm1')).toBe(true);
    g.review(round(6_000, ['vm1'], [])); // ovn-northd refilled the SB
    expect(g.review(round(7_000, [], ['vm1'])).held.size).toBe(0);
  });

  it('case 2: rounds before the new session has its condition in effect count as the resync too', () => {
    const g = synced(['vm1']);
    g.beginSession('resync');
    g.review(round(5_000, [], ['vm1'], { sbInEffect: false }));
    const review = g.review(round(5_500, [], ['vm1']));
    expect(review.held.get('vm1')?.sinceMs).toBe(5_000);
    // Later rounds of that session are trusted again.
    g.review(round(6_000, ['vm2'], ['vm1']));
    expect(g.review(round(7_000, [], ['vm1', 'vm2'])).held.has('vm2')).toBe(false);
  });

  it('case 3: a port missing once our identity or condition changed is held', () => {
    const g = synced(['vm1']);
    g.beginSession('identity');
    g.review(round(2_000, [], ['vm1'], { sbInEffect: false }));
    expect(g.review(round(2_100, [], ['vm1'])).held.get('vm1')?.cause).toBe('identity');
  });

  it('case 4: a stale owned interface appearing through OVS within a session goes at once', () => {
    const g = synced(['vm1']);
    expect(g.review(round(1_000, ['vm1'], ['stale'])).held.size).toBe(0);
  });

  it('case 5: at agent start, owned interfaces the first sync does not want are held', () => {
    const g = guard();
    g.beginSession('startup');
    g.beginSession('identity'); // the first Chassis condition keeps the startup cause
    expect(g.review(round(0, [], ['old'])).held.get('old')?.cause).toBe('startup');
  });
});

describe('RemovalGuard: take-over rights', () => {
  it('a request that arrived within the session may take over; one that came with a resync may not', () => {
    const g = synced(['vm1']);
    expect(g.review(round(1_000, ['vm1', 'vm2'], [])).mayTakeOver('vm2')).toBe(true);
    g.beginSession('resync');
    const review = g.review(round(2_000, ['vm1', 'vm2', 'old'], []));
    expect(review.mayTakeOver('old')).toBe(false);
    expect(review.mayTakeOver('vm2')).toBe(false); // seen again only through the resync
    expect(g.review(round(3_000, ['vm1', 'vm2', 'old', 'vm3'], [])).mayTakeOver('vm3')).toBe(true);
  });

  it('a port never seen wanted may not take over', () => {
    expect(
      synced([])
        .review(round(1, [], []))
        .mayTakeOver('nobody'),
    ).toBe(false);
  });

  it('rejects impossible settings with the bad value named', () => {
    expect(() => new RemovalGuard({ share: 0, minCount: 8, graceMs: 1 })).toThrow(/share .* got 0/);
    expect(() => new RemovalGuard({ share: 0.5, minCount: 0, graceMs: 1 })).toThrow(/minimum .* got 0/);
    expect(() => new RemovalGuard({ share: 0.5, minCount: 8, graceMs: -1 })).toThrow(/grace .* got -1/);
  });
});

describe('RemovalGuard: wanted ports handed as a change', () => {
  it('records the same arrivals from (set, change) as from whole sets, whatever the sessions', () => {
    type Action =
      | { readonly kind: 'round'; readonly wanted: readonly number[]; readonly inEffect: boolean }
      | { readonly kind: 'session' };
    const action: fc.Arbitrary<Action> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant('round' as const),
          wanted: fc.uniqueArray(fc.nat({ max: 9 }), { maxLength: 8 }),
          inEffect: fc.boolean(),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'session' as const }) },
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 30 }), (actions) => {
        const whole = guard(2);
        const changed = guard(2);
        let last: Set<string> | undefined;
        for (const [i, a] of actions.entries()) {
          if (a.kind === 'session') {
            whole.beginSession('resync');
            changed.beginSession('resync');
            continue;
          }
          const names = new Set(a.wanted.map((n) => `p${n}`));
          const base = { nowMs: i * 1_000, sbInEffect: a.inEffect, unwanted: [], ownedCount: names.size };
          const wantedChange =
            last === undefined
              ? undefined
              : {
                  from: last,
                  added: [...names].filter((n) => !last?.has(n)),
                  removed: [...last].filter((n) => !names.has(n)),
                };
          const a1 = whole.review({ ...base, wanted: [...names] });
          const a2 = changed.review({ ...base, wanted: names, ...(wantedChange ? { wantedChange } : {}) });
          for (let n = 0; n < 10; n++) expect(a2.mayTakeOver(`p${n}`)).toBe(a1.mayTakeOver(`p${n}`));
          last = names;
        }
      }),
      { numRuns: 500 },
    );
  });
});
