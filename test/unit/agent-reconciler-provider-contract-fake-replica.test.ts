/**
 * The provider contract's order (DESIGN §3.3), proven on every path of the reconciler: `finish()`
 * only after the transaction that applied the answer committed, `release()` exactly once for
 * every ready answer (after `finish`, or instead of it) — on success, tryAgain, error, a lost name
 * race, an `unknown` outcome that did or did not commit, and at shutdown with a transaction in
 * flight. Replicas are real caches; transaction outcomes are FAKE (scripted), see
 * fake-replica-world.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { PreparedTransaction, TxnOutcome } from '../../src/ovsdb/index.js';
import {
  planPorts,
  ProviderRegistry,
  type PlugAnswer,
  type PlugProvider,
  type PlugReady,
  type PlugRequest,
} from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import { AgentMetrics, noopLogger, Reconciler, type PortTransition } from '../../src/agent/index.js';
import {
  BRIDGE,
  commit,
  fakeReconcilerTime,
  insertedNames,
  world,
  type FakeOvs,
  type FakeReconcilerTime,
  type FakeReplica,
  type Later,
} from './fake-replica-world.js';

/** The fake time of the running test: rounds run on `flush()`, timers fire on `advance()`. */
let time: FakeReconcilerTime;

/** What the FAKE server committed: interface names inserted, port names deleted, updates applied. */
class Server {
  readonly inserted = new Set<string>();
  readonly deleted = new Set<string>();
  readonly updated = new Set<string>();
  constructor(readonly ovs: FakeOvs) {}

  /** Commits `tx` (records it, then applies it to the replica, optionally `later`). */
  commit(tx: PreparedTransaction, later?: Later): TxnOutcome {
    for (const name of insertedNames(tx)) this.inserted.add(name);
    const portName = new Map(
      this.ovs
        .table('Port')
        .all()
        .map((r) => [r._uuid, r['name'] as string]),
    );
    const ifaceName = new Map(
      this.ovs
        .table('Interface')
        .all()
        .map((r) => [r._uuid, r['name'] as string]),
    );
    const deletes: Record<string, unknown> = {};
    for (const op of tx.ops as Record<string, unknown>[]) {
      if (op['op'] === 'mutate' && op['table'] === 'Bridge') {
        for (const m of op['mutations'] as [string, string, [string, [string, string][]]][]) {
          if (m[1] !== 'delete') continue;
          for (const [, uuid] of m[2][1]) {
            this.deleted.add(portName.get(uuid) ?? uuid);
            deletes[uuid] = { delete: null };
          }
        }
      }
      if ((op['op'] === 'update' || op['op'] === 'mutate') && op['table'] === 'Interface') {
        const where = op['where'] as [string, string, [string, string]][];
        const uuid = where[0]?.[2][1] ?? '';
        this.updated.add(ifaceName.get(uuid) ?? uuid);
      }
    }
    if (Object.keys(deletes).length > 0) {
      this.ovs.apply({ Port: deletes });
    }
    if (insertedNames(tx).length > 0) return commit(this.ovs, tx, later);
    return { status: 'success', results: [], uuids: new Map(), selected: new Map(), incremented: new Map() };
  }

  committed(request: PlugRequest, answer: PlugReady): boolean {
    if (request.operation === 'remove') return this.deleted.has(answer.name);
    return this.inserted.has(answer.name) || this.updated.has(answer.name);
  }
}

/** A dummy provider that records, per ready answer, the calls it got and any breach of the contract. */
class ContractProbe implements PlugProvider {
  readonly type = 'dummy';
  readonly #inner = new DummyProvider();
  readonly answers = new Map<PlugReady, { request: PlugRequest; calls: string[] }>();
  readonly breaches: string[] = [];
  destroyed = false;
  constructor(readonly server: Server) {}
  maintainedIfaceOptions(): readonly string[] {
    return this.#inner.maintainedIfaceOptions();
  }
  prepare(request: PlugRequest): PlugAnswer {
    const answer = this.#inner.prepare(request);
    if (answer.kind !== 'ready') return answer;
    const copy: PlugReady = { ...answer };
    this.answers.set(copy, { request, calls: ['prepare'] });
    return copy;
  }
  finish(request: PlugRequest, answer: PlugReady): void {
    const entry = this.#entry('finish', request, answer);
    if (!this.server.committed(request, answer))
      this.breaches.push(`finish before commit: ${request.operation} ${request.logicalPort}`);
    if (entry?.calls.includes('release')) this.breaches.push(`finish after release: ${request.logicalPort}`);
  }
  release(request: PlugRequest, answer: PlugReady): void {
    this.#entry('release', request, answer);
  }
  destroy(): void {
    this.destroyed = true;
  }
  #entry(call: string, request: PlugRequest, answer: PlugReady) {
    const entry = this.answers.get(answer);
    if (entry === undefined) {
      this.breaches.push(`${call} of an answer never prepared: ${request.logicalPort}`);
      return undefined;
    }
    if (this.destroyed) this.breaches.push(`${call} after destroy: ${request.logicalPort}`);
    entry.calls.push(call);
    return entry;
  }
  /** Answers whose calls are not exactly prepare[, finish], release. */
  misordered(): string[] {
    return [...this.answers.values()]
      .map((e) => `${e.request.operation} ${e.request.logicalPort}: ${e.calls.join(',')}`)
      .filter((line) => !/: prepare,(finish,)?release$/.test(line));
  }
  finished(): string[] {
    return [...this.answers.values()]
      .filter((e) => e.calls.includes('finish'))
      .map((e) => `${e.request.operation} ${e.request.logicalPort}`)
      .sort();
  }
}

interface Rig {
  ovs: FakeOvs;
  sb: FakeReplica;
  server: Server;
  probe: ContractProbe;
  reconciler: Reconciler;
  registry: ProviderRegistry;
  metrics: Registry;
  states: PortTransition[];
}

let rig: Rig | undefined;

async function start(ports: string[]): Promise<Rig> {
  const { ovs, sb } = world(ports);
  const server = new Server(ovs);
  const probe = new ContractProbe(server);
  const registry = new ProviderRegistry();
  await registry.register(probe);
  const metrics = new Registry();
  const states: PortTransition[] = [];
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
    ...time.runtime,
    logger: noopLogger,
    metrics: new AgentMetrics(metrics),
    onTransition: (t) => states.push(t),
  });
  rig = { ovs, sb, server, probe, reconciler, registry, metrics, states };
  return rig;
}

/** Stops like the agent does (reconciler, then providers) and checks the contract held throughout. */
async function stopAndCheck(r: Rig): Promise<void> {
  await r.reconciler.stop();
  await r.registry.destroyAll();
  expect(r.probe.breaches).toEqual([]);
  expect(r.probe.misordered()).toEqual([]);
}

beforeEach(() => {
  time = fakeReconcilerTime();
});
afterEach(async () => {
  const stopping = rig?.reconciler.stop();
  await time.advance(5_000); // stop() waits at most 5 s for a transaction left in flight
  await stopping;
  rig = undefined;
});

/** Runs what is pending (no time passes) and expects `n` ports Plugged. */
async function plugged(r: Rig, n: number): Promise<void> {
  await time.flush();
  expect(r.reconciler.status().ports.filter((p) => p.state === 'Plugged')).toHaveLength(n);
}

/** `done`'s settling, observable without awaiting it. */
function track(done: Promise<void>): { readonly settled: boolean } {
  const state = { settled: false };
  void done.then(() => (state.settled = true));
  return state;
}

async function transactionsMetric(r: Rig, outcome: string): Promise<number> {
  const metric = await r.metrics.getSingleMetric('ovn_plug_ovs_transactions_total')?.get();
  return metric?.values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;
}

describe('provider contract order (DESIGN §3.3)', () => {
  it('success: finish after the commit (even before the replica shows it), then release', async () => {
    const r = await start(['a', 'b']);
    r.ovs.outcomes.push((tx) => r.server.commit(tx, { ms: 50, timers: time.timers }));
    r.reconciler.start();
    await time.flush();
    expect(r.ovs.table('Interface').all()).toEqual([]); // the replica does not show it yet
    expect(r.probe.finished()).toEqual(['create a', 'create b']);
    await time.advance(50);
    await plugged(r, 2);
    r.reconciler.schedule('timer');
    await time.advance(30);
    await stopAndCheck(r);
    expect(r.probe.finished()).toEqual(['create a', 'create b']);
  });

  it('tryAgain: release only; the rebuilt transaction that commits is finished', async () => {
    const r = await start(['a']);
    r.ovs.outcomes.push(() => {
      time.timers.setTimer(
        () => r.ovs.apply({ Open_vSwitch: { '00000000-0000-4000-8000-0000000000f1': { insert: {} } } }),
        5,
      );
      return { status: 'tryAgain', reason: 'verify-failed' };
    });
    r.ovs.outcomes.push((tx) => r.server.commit(tx));
    r.reconciler.start();
    await time.flush();
    expect(r.ovs.sent).toHaveLength(1); // rebuilt only once the replica moved
    await time.advance(5);
    await plugged(r, 1);
    expect(r.ovs.sent).toHaveLength(2);
    await stopAndCheck(r);
    expect(r.probe.finished()).toEqual(['create a']);
  });

  it('error (attributed and commit-time): release only, never finish', async () => {
    const r = await start(['a', 'b']);
    r.ovs.outcomes.push((tx) => ({
      status: 'error',
      scope: 'op',
      opIndex: tx.ops.length - 1,
      error: 'I/O error',
    }));
    r.ovs.outcomes.push((tx) => ({
      status: 'error',
      scope: 'commit',
      opIndex: tx.ops.length,
      error: 'referential integrity violation',
    }));
    r.reconciler.start();
    await time.flush();
    expect(r.ovs.sent).toHaveLength(1);
    await time.advance(999);
    expect(r.ovs.sent).toHaveLength(1); // the failed ports are set aside for 1 s
    await time.advance(1_001);
    expect(r.ovs.sent.length).toBeGreaterThanOrEqual(2);
    await stopAndCheck(r);
    expect(r.probe.finished()).toEqual([]);
  });

  it('unknown outcome that committed: finish then release once the replica shows the inserted interfaces', async () => {
    const r = await start(['a', 'b']);
    let finishedBeforeReplica = false;
    const original = r.probe.finish.bind(r.probe);
    r.probe.finish = (request, answer) => {
      if (
        r.ovs
          .table('Interface')
          .all()
          .every((row) => row['name'] !== answer.name)
      )
        finishedBeforeReplica = true;
      original(request, answer);
    };
    r.ovs.outcomes.push((tx) => {
      // committed; the reply is lost, the update arrives 80 ms later
      r.server.commit(tx, { ms: 80, timers: time.timers });
      return { status: 'unknown', reason: 'disconnected' };
    });
    r.reconciler.start();
    await time.flush();
    expect(r.ovs.sent).toHaveLength(1);
    await time.advance(79);
    expect(r.probe.finished()).toEqual([]); // not yet: the replica does not show it
    await time.advance(1);
    expect(r.probe.finished()).toEqual(['create a', 'create b']);
    expect(finishedBeforeReplica).toBe(false);
    await plugged(r, 2);
    expect(r.ovs.sent).toHaveLength(1); // never resent
    await stopAndCheck(r);
  });

  it('unknown outcome that did not commit: release only once the replica moved, then plans again', async () => {
    const r = await start(['a']);
    r.ovs.outcomes.push(() => ({ status: 'unknown', reason: 'timeout' }));
    r.ovs.outcomes.push((tx) => r.server.commit(tx));
    r.reconciler.start();
    await time.flush();
    expect(r.ovs.sent).toHaveLength(1);
    await time.advance(30);
    const first = [...r.probe.answers.values()].filter((e) => e.calls.length > 0);
    expect(first.some((e) => e.calls.join() === 'prepare')).toBe(true); // held, neither finished nor released
    r.ovs.apply({ Open_vSwitch: { '00000000-0000-4000-8000-0000000000f1': { insert: {} } } });
    await time.flush();
    expect(r.ovs.sent).toHaveLength(2);
    await plugged(r, 1);
    await stopAndCheck(r);
    expect(r.probe.finished()).toEqual(['create a']); // the second transaction's answer only
    expect(
      [...r.probe.answers.values()].filter((e) => e.calls.join() === 'prepare,release').length,
    ).toBeGreaterThan(0);
  });

  it('unknown outcome of a removal that committed: finish then release when the port is gone', async () => {
    const r = await start(['x']);
    r.ovs.outcomes.push((tx) => r.server.commit(tx));
    r.reconciler.start();
    await plugged(r, 1);
    r.ovs.outcomes.push((tx) => {
      r.server.commit(tx);
      return { status: 'unknown', reason: 'disconnected' };
    });
    r.sb.apply({ Port_Binding: { '00000000-0000-4000-8000-000000000010': { delete: null } } });
    await time.flush();
    expect(r.probe.finished()).toEqual(['create x', 'remove x']);
    await stopAndCheck(r);
  });

  it('unknown outcome of an update that committed: finish then release when the row shows the change', async () => {
    const r = await start(['a']);
    r.ovs.outcomes.push((tx) => r.server.commit(tx));
    r.reconciler.start();
    await plugged(r, 1);
    const iface = r.ovs.table('Interface').all()[0]!;
    r.ovs.outcomes.push(() => {
      r.server.updated.add('a');
      time.timers.setTimer(
        () => r.ovs.apply({ Interface: { [iface._uuid]: { modify: { mtu_request: 1400 } } } }),
        30,
      );
      return { status: 'unknown', reason: 'timeout' };
    });
    r.sb.apply({
      Port_Binding: {
        '00000000-0000-4000-8000-000000000010': {
          modify: { options: ['map', [['vif-plug-mtu-request', '1400']]] },
        },
      },
    });
    await time.flush();
    expect(r.probe.finished()).toEqual(['create a']); // not before the row shows the change
    await time.advance(30);
    expect(r.probe.finished()).toEqual(['create a', 'create a']);
    expect(r.ovs.sent).toHaveLength(2);
    await stopAndCheck(r);
  });

  it('shutdown while a transaction is in flight that then commits: finish and release before stop() resolves', async () => {
    const r = await start(['a']);
    let reply: (o: TxnOutcome) => void = () => undefined;
    let pending: PreparedTransaction | undefined;
    r.ovs.outcomes.push((tx) => {
      pending = tx;
      return new Promise<TxnOutcome>((resolve) => (reply = resolve));
    });
    r.reconciler.start();
    await time.flush();
    expect(r.ovs.sent).toHaveLength(1);
    const stopping = r.reconciler.stop();
    const stop = track(stopping);
    time.timers.setTimer(() => reply(r.server.commit(pending!)), 30);
    await time.advance(29);
    expect(stop.settled).toBe(false); // waits for the transaction in flight
    await time.advance(1);
    expect(stop.settled).toBe(true);
    await stopping;
    expect(r.probe.finished()).toEqual(['create a']);
    await stopAndCheck(r);
  });

  it('shutdown while a transaction is in flight whose connection closes: release only', async () => {
    const r = await start(['a']);
    let reply: (o: TxnOutcome) => void = () => undefined;
    r.ovs.outcomes.push(() => new Promise<TxnOutcome>((resolve) => (reply = resolve)));
    r.reconciler.start();
    await time.flush();
    expect(r.ovs.sent).toHaveLength(1);
    const stopping = r.reconciler.stop();
    const stop = track(stopping);
    time.timers.setTimer(() => reply({ status: 'unknown', reason: 'disconnected' }), 30);
    await time.advance(29);
    expect(stop.settled).toBe(false); // waits for the transaction in flight
    await time.advance(1);
    expect(stop.settled).toBe(true);
    await stopping;
    await stopAndCheck(r);
    expect(r.probe.finished()).toEqual([]);
  });

  it('shutdown while a transaction outlasts the wait: released before the providers are destroyed, once', async () => {
    const r = await start(['a']);
    let reply: (o: TxnOutcome) => void = () => undefined;
    r.ovs.outcomes.push(() => new Promise<TxnOutcome>((resolve) => (reply = resolve)));
    r.reconciler.start();
    await time.flush();
    expect(r.ovs.sent).toHaveLength(1);
    const checking = stopAndCheck(r); // stop() returns after 5 s with the transaction still in flight
    const check = track(checking);
    await time.advance(4_999);
    expect(check.settled).toBe(false);
    await time.advance(1);
    expect(check.settled).toBe(true);
    await checking;
    reply({ status: 'unknown', reason: 'disconnected' }); // the client closes later
    await time.flush();
    expect(r.probe.breaches).toEqual([]);
    expect(r.probe.misordered()).toEqual([]);
  });
});

describe('a commit lost to a concurrent writer of the same name (DESIGN §3.5a race)', () => {
  const builtInRow = (name: string) => ({
    name,
    type: 'internal',
    external_ids: [
      'map',
      [
        ['iface-id', name],
        ['ovn-plugged', 'dummy'],
      ],
    ],
  });

  it('is replanned from the fresh replica: never Failed, the other ports go on, counted as conflict', async () => {
    const r = await start(['a', 'b']);
    const IF_A = '00000000-0000-4000-8000-0000000000c1';
    const PORT_A = '00000000-0000-4000-8000-0000000000c2';
    r.ovs.outcomes.push(() => {
      // ovn-controller's built-in plugging committed interface "a" just before our transaction.
      r.ovs.apply({
        Interface: { [IF_A]: { insert: builtInRow('a') } },
        Port: { [PORT_A]: { insert: { name: 'a', interfaces: ['uuid', IF_A] } } },
        Bridge: { [BRIDGE]: { modify: { ports: ['set', [['uuid', PORT_A]]] } } },
      });
      return {
        status: 'error',
        scope: 'commit',
        opIndex: 99,
        error: 'constraint violation',
        details:
          'Transaction causes multiple rows in "Interface" table to have identical values ("a") for index on column "name".  First row, with UUID ' +
          IF_A +
          ', existed in the database before this transaction and was not modified by the transaction.  Second row, with UUID 6f0b0f43-0000-0000-0000-000000000000, was inserted by this transaction.',
      };
    });
    r.ovs.outcomes.push((tx) => r.server.commit(tx));
    r.reconciler.start();
    await time.flush();
    expect(r.ovs.sent).toHaveLength(2);
    expect(insertedNames(r.ovs.sent[1]!)).toEqual(['b']);
    expect(r.reconciler.status().ports.map((p) => [p.logicalPort, p.state, p.reason])).toEqual([
      ['a', 'Conflict', 'PluggedByOvnController'],
      ['b', 'Plugged', 'WaitingForOfport'],
    ]);
    expect(r.states.filter((t) => t.to === 'Failed')).toEqual([]);
    expect(await transactionsMetric(r, 'conflict')).toBe(1);
    expect(await transactionsMetric(r, 'error')).toBe(0);
    await stopAndCheck(r);
    expect(r.probe.finished()).toEqual(['create b']);
  });

  it('a violation the replica never explains ends, after three tries, in the error path (Failed)', async () => {
    const r = await start(['a']);
    let n = 0;
    const violation = (): TxnOutcome => {
      n += 1;
      r.ovs.apply({ Open_vSwitch: { [`00000000-0000-4000-8000-0000000000f${n}`]: { insert: {} } } });
      return {
        status: 'error',
        scope: 'commit',
        opIndex: 99,
        error: 'constraint violation',
        details:
          'First row, with UUID x, existed in the database before this transaction and was not modified.',
      };
    };
    for (let i = 0; i < 4; i++) r.ovs.outcomes.push(violation);
    r.reconciler.start();
    await time.flush();
    expect(r.reconciler.status().ports[0]?.state).toBe('Failed');
    expect(r.ovs.sent).toHaveLength(4);
    expect(await transactionsMetric(r, 'conflict')).toBe(3);
    expect(await transactionsMetric(r, 'error')).toBe(1);
    await stopAndCheck(r);
  });
});
