/**
 * Liveness means progress (DESIGN §5, ADR 0106): the pure monitor on a fake clock, the mapping of
 * reconciler events onto it (including the OVS-transaction wait allowance), the registry's run()
 * activity that feeds it, the database answer probe on fake timers, readiness, and the flag.
 * No real timers or sleeps, except the reconciler's own event-loop turns in the last block.
 */
import { describe, expect, it } from 'vitest';
import { readiness } from '../../src/agent/http.js';
import { parseCommandLine, usage } from '../../src/agent/config.js';
import { DbAnswerProbe } from '../../src/agent/db-answer-probe.js';
import {
  DEFAULT_LIVENESS_STALL_MS,
  Liveness,
  providerRunWork,
  reconcilerLivenessSink,
  ROUND_WORK,
  TRANSACTION_WORK,
  type ReconcilerLivenessEvent,
} from '../../src/agent/liveness.js';
import { noopLogger } from '../../src/agent/logger.js';
import { Reconciler } from '../../src/agent/reconciler.js';
import type { AgentStatus } from '../../src/agent/status/types.js';
import { planPorts, ProviderRegistry, type Timers } from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import type { TxnOutcome } from '../../src/ovsdb/index.js';
import { commit, world } from './fake-replica-world.js';

const T0 = Date.UTC(2025, 0, 1);

/** A settable clock plus timers that fire only when the test advances it. */
function fakeTime(start = T0): Timers & { now: () => number; advance(ms: number): void } {
  let now = start;
  let timers: { due: number; fn: () => void; cancelled: boolean }[] = [];
  return {
    now: () => now,
    setTimer(fn, delayMs) {
      const timer = { due: now + delayMs, fn, cancelled: false };
      timers.push(timer);
      return { cancel: () => void (timer.cancelled = true) };
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const next = timers.filter((t) => !t.cancelled && t.due <= end).sort((a, b) => a.due - b.due)[0];
        if (next === undefined) break;
        timers = timers.filter((t) => t !== next);
        now = next.due;
        next.fn();
      }
      now = end;
    },
  };
}

describe('Liveness (fake clock)', () => {
  it('is healthy with nothing pending, however long nothing happens', () => {
    const clock = fakeTime();
    const liveness = new Liveness({ stallMs: 60_000, now: clock.now });
    clock.advance(3_600_000);
    expect(liveness.report(clock.now())).toEqual({ ok: true, problems: [], pending: [] });
  });

  it('fails only once pending work has had no progress for longer than the bound, and says which and since when', () => {
    const clock = fakeTime();
    const liveness = new Liveness({ stallMs: 60_000, now: clock.now });
    liveness.pending('provider "x" run()');
    clock.advance(60_000);
    expect(liveness.healthy(clock.now())).toBe(true);
    clock.advance(1);
    const report = liveness.report(clock.now());
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      `wedged: provider "x" run() pending since ${new Date(T0).toISOString()} with no progress for 60.0 s; the bound is 60 s`,
    ]);
    expect(report.pending).toEqual([{ work: 'provider "x" run()', sinceMs: T0, stalledMs: 60_001 }]);
    liveness.done('provider "x" run()');
    expect(liveness.healthy(clock.now())).toBe(true);
  });

  it('a repeated request does not restart the clock; progress does', () => {
    const clock = fakeTime();
    const liveness = new Liveness({ stallMs: 10_000, now: clock.now });
    liveness.pending('w');
    clock.advance(9_000);
    liveness.pending('w');
    clock.advance(2_000);
    expect(liveness.healthy(clock.now())).toBe(false);
    liveness.progress('w');
    expect(liveness.healthy(clock.now())).toBe(true);
    clock.advance(10_000);
    expect(liveness.healthy(clock.now())).toBe(true);
    clock.advance(1);
    expect(liveness.healthy(clock.now())).toBe(false);
  });

  it('time within the wait allowance (on a database) is not stall time', () => {
    const clock = fakeTime();
    const liveness = new Liveness({ stallMs: 10_000, now: clock.now });
    liveness.pending('txn', { waitAllowanceMs: 60_000, waitingOn: 'the OVS DB' });
    clock.advance(70_000);
    expect(liveness.report(clock.now())).toEqual({
      ok: true,
      problems: [],
      pending: [{ work: 'txn', sinceMs: T0, stalledMs: 10_000, waitingOn: 'the OVS DB' }],
    });
    clock.advance(1);
    const problems = liveness.report(clock.now()).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('beyond the 60 s it may wait on the OVS DB');
  });

  it('rejects a bound that is not positive', () => {
    expect(() => new Liveness({ stallMs: 0, now: () => 0 })).toThrow(RangeError);
  });
});

describe('reconciler events → liveness', () => {
  function rig(stallMs = 60_000, txnWaitMs = 60_000) {
    const clock = fakeTime();
    const liveness = new Liveness({ stallMs, now: clock.now });
    const sink = reconcilerLivenessSink(liveness, txnWaitMs);
    const work = (): string[] => liveness.report(clock.now()).pending.map((p) => p.work);
    return { clock, liveness, sink, work };
  }

  it('a requested round is pending until a round starts', () => {
    const { clock, liveness, sink, work } = rig();
    sink('requested');
    sink('requested');
    expect(work()).toEqual([ROUND_WORK]);
    clock.advance(60_001);
    expect(liveness.report(clock.now()).problems[0]).toContain('wedged: reconcile round pending since');
    sink('round');
    expect(work()).toEqual([]);
    expect(liveness.healthy(clock.now())).toBe(true);
  });

  it('a database that stalls a transaction up to the client limit is not a wedge; a lost outcome beyond it is', () => {
    const { clock, liveness, sink, work } = rig(60_000, 60_000);
    sink('requested');
    sink('round');
    sink('sent');
    // Rounds asked for while the transaction is in flight wait for it by design: not pending.
    sink('requested');
    expect(work()).toEqual([TRANSACTION_WORK]);
    clock.advance(60_000); // the client's limit: outcome `unknown`
    sink('outcome');
    sink('requested');
    expect(work()).toEqual([ROUND_WORK]);
    sink('round');
    sink('sent');
    // A stalled OVS DB, transaction after transaction: never a wedge.
    clock.advance(60_000);
    sink('outcome');
    sink('requested');
    sink('round');
    expect(liveness.healthy(clock.now())).toBe(true);
    // An outcome that never arrives (the client failed to time it out): wedged after limit + bound.
    sink('sent');
    clock.advance(120_000);
    expect(liveness.healthy(clock.now())).toBe(true);
    clock.advance(1);
    expect(liveness.report(clock.now()).problems[0]).toMatch(
      /^wedged: OVS transaction pending since .*\(beyond the 60 s it may wait on the OVS DB\)/,
    );
  });
});

describe('ProviderRegistry run() activity', () => {
  it('reports a run() call until it settles, even after its time limit, so a hang stays pending', async () => {
    const clock = fakeTime();
    const events: [string, boolean][] = [];
    let settle: (changed: boolean) => void = () => undefined;
    const registry = new ProviderRegistry({
      clock,
      timers: clock,
      runTimeoutMs: 5_000,
      onRunActivity: (type, running) => events.push([type, running]),
    });
    await registry.register({
      ...new DummyProvider(),
      type: 'hang',
      maintainedIfaceOptions: () => [],
      prepare: () => ({ kind: 'notNow', reason: 'x' }),
      run: () => new Promise<boolean>((resolve) => (settle = resolve)),
    });
    const round = registry.runAll();
    expect(events).toEqual([['hang', true]]);
    clock.advance(5_000);
    const result = await round;
    expect(result.failed.map((f) => f.message)).toEqual(['run() did not finish within 5000 ms']);
    expect(events).toEqual([['hang', true]]);
    settle(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([
      ['hang', true],
      ['hang', false],
    ]);
  });

  it('feeds a liveness failure for a run() that never settles', async () => {
    const clock = fakeTime();
    const liveness = new Liveness({ stallMs: 60_000, now: clock.now });
    const registry = new ProviderRegistry({
      clock,
      timers: clock,
      onRunActivity: (type, running) =>
        running ? liveness.pending(providerRunWork(type)) : liveness.done(providerRunWork(type)),
    });
    await registry.register({
      type: 'wedge',
      maintainedIfaceOptions: () => [],
      prepare: () => ({ kind: 'notNow', reason: 'x' }),
      run: () => new Promise<boolean>(() => undefined),
    });
    const round = registry.runAll();
    clock.advance(60_000);
    await round;
    expect(liveness.healthy(clock.now())).toBe(true);
    clock.advance(1);
    expect(liveness.report(clock.now()).problems[0]).toContain('provider "wedge" run()');
  });
});

describe('DbAnswerProbe (fake timers)', () => {
  function rig() {
    const clock = fakeTime();
    const calls: { resolve: () => void; reject: () => void }[] = [];
    let connected = true;
    const probe = new DbAnswerProbe({
      echo: () => new Promise<void>((resolve, reject) => calls.push({ resolve, reject })),
      connected: () => connected,
      intervalMs: 5_000,
      stalledAfterMs: 10_000,
      now: clock.now,
      timers: clock,
    });
    probe.start();
    return { clock, calls, probe, setConnected: (c: boolean) => void (connected = c) };
  }
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('an answering database is never stalled', async () => {
    const { clock, calls, probe } = rig();
    for (let i = 0; i < 10; i += 1) {
      clock.advance(5_000);
      calls.at(-1)?.resolve();
      await settle();
    }
    expect(calls).toHaveLength(10);
    expect(probe.stalledSinceMs(clock.now())).toBeUndefined();
  });

  it('a silent database is stalled from its first unanswered echo, one echo at a time, until it answers', async () => {
    const { clock, calls, probe } = rig();
    clock.advance(5_000);
    const firstSent = clock.now();
    clock.advance(9_999);
    expect(probe.stalledSinceMs(clock.now())).toBeUndefined();
    clock.advance(1);
    expect(probe.stalledSinceMs(clock.now())).toBe(firstSent);
    clock.advance(30_000);
    expect(calls).toHaveLength(1);
    // The echo times out: still unanswered, asked again.
    calls[0]?.reject();
    await settle();
    clock.advance(5_000);
    expect(calls).toHaveLength(2);
    expect(probe.stalledSinceMs(clock.now())).toBe(firstSent);
    calls[1]?.resolve();
    await settle();
    expect(probe.stalledSinceMs(clock.now())).toBeUndefined();
    probe.stop();
  });

  it('does not probe a disconnected client and forgets an unanswered echo across the outage', async () => {
    const { clock, calls, probe, setConnected } = rig();
    clock.advance(5_000);
    calls[0]?.reject();
    await settle();
    setConnected(false);
    clock.advance(20_000);
    expect(calls).toHaveLength(1);
    expect(probe.stalledSinceMs(clock.now())).toBeUndefined();
  });
});

describe('readiness and the flag', () => {
  const base: AgentStatus = {
    chassis: 'hv1',
    integrationBridge: 'br-int',
    sb: { state: 'monitoring', synced: true, reconnects: 0 },
    ovs: { state: 'monitoring', synced: true, reconnects: 0 },
    providers: [],
    ports: [],
    generatedAtMs: T0,
  };

  it('a stalled database fails readiness with when it stopped answering', () => {
    expect(readiness(base)).toEqual({ ok: true, problems: [] });
    expect(readiness({ ...base, ovs: { ...base.ovs, unansweredSinceMs: T0 } })).toEqual({
      ok: false,
      problems: [`OVS DB not answering since ${new Date(T0).toISOString()}`],
    });
  });

  it('--liveness-stall defaults to a minute, has an environment twin, and refuses less than a second', () => {
    const parse = (argv: string[], env: Record<string, string> = {}) => parseCommandLine(argv, env);
    const ok = parse([]);
    expect(ok.ok && ok.config.livenessStallMs).toBe(DEFAULT_LIVENESS_STALL_MS);
    expect(DEFAULT_LIVENESS_STALL_MS).toBe(60_000);
    const flag = parse(['--liveness-stall=2m']);
    expect(flag.ok && flag.config.livenessStallMs).toBe(120_000);
    const env = parse([], { OVN_PLUG_AGENT_LIVENESS_STALL: '90s' });
    expect(env.ok && env.config.livenessStallMs).toBe(90_000);
    const low = parse(['--liveness-stall=500ms']);
    expect(low.ok ? [] : low.errors).toEqual(['--liveness-stall: "500ms" is below the minimum of 1000 ms']);
    expect(usage()).toContain('--liveness-stall=D');
  });
});

describe('Reconciler reports its progress (fake replicas)', () => {
  it('requested → round → sent, and the outcome leads to the next round', async () => {
    const { ovs, sb } = world(['p1']);
    const registry = new ProviderRegistry();
    await registry.register(new DummyProvider());
    const events: ReconcilerLivenessEvent[] = [];
    let answer: (outcome: TxnOutcome) => void = () => undefined;
    ovs.outcomes.push((tx) => new Promise((resolve) => (answer = () => resolve(commit(ovs, tx)))));
    // Only the duty-cycle cap's delay runs on these; advanced by hand below.
    const timers = fakeTime();
    const reconciler = new Reconciler({
      sb,
      ovs,
      providers: registry,
      chassisName: 'hv1',
      integrationBridge: 'br-int',
      ownershipKey: 'ovn-plug-agent',
      removalHold: { share: 1, minCount: 1_000, graceMs: 60_000 },
      resyncIntervalMs: 600_000,
      providerRunIntervalMs: 600_000,
      planner: planPorts,
      now: Date.now,
      timers,
      logger: noopLogger,
      onLiveness: (event) => events.push(event),
    });
    const turns = async (): Promise<void> => {
      for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
    };
    try {
      reconciler.start();
      await turns();
      expect(events.slice(0, 3)).toEqual(['requested', 'round', 'sent']);
      // While the transaction is in flight no round runs, whatever is asked for.
      reconciler.schedule('change');
      await turns();
      expect(events.slice(3).every((e) => e === 'requested')).toBe(true);
      const before = events.length;
      answer({ status: 'unknown', reason: 'timeout' });
      await turns();
      timers.advance(1_000);
      await turns();
      const after = events.slice(before);
      const outcome = after.indexOf('outcome');
      expect(outcome).toBeGreaterThanOrEqual(0);
      expect(after.slice(outcome + 1, outcome + 3)).toEqual(['requested', 'round']);
    } finally {
      answer({ status: 'unknown', reason: 'timeout' });
      await reconciler.stop();
      await registry.destroyAll();
    }
  });
});
