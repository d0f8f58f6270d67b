/**
 * Reconciler outcomes a real server cannot be made to produce on demand: a transaction whose
 * outcome is unknown (connection lost in flight), an error attributed to one operation, a
 * commit-time error, and a reply that never comes. The replicas are real `Replica` caches fed with
 * update2 messages; only `transact` is a fake with scripted outcomes (hence the file name).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedTransaction, TxnOutcome } from '../../src/ovsdb/index.js';
import { planPorts, ProviderRegistry } from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import {
  noopLogger,
  Reconciler,
  type PortTransition,
  type RemovalHoldPolicy,
} from '../../src/agent/index.js';
import {
  BRIDGE,
  CHASSIS,
  commit,
  fakeReconcilerTime,
  insertedNames,
  world,
  type FakeOvs,
  type FakeReconcilerTime,
  type FakeReplica,
} from './fake-replica-world.js';

/** The fake time of the running test: rounds run on `flush()`, timers fire on `advance()`. */
let time: FakeReconcilerTime;

async function startReconciler(
  ovs: FakeOvs,
  sb: FakeReplica,
  onTransition?: (t: PortTransition) => void,
  removalHold: RemovalHoldPolicy = { share: 0.5, minCount: 2, graceMs: 60_000 },
): Promise<Reconciler> {
  const registry = new ProviderRegistry();
  await registry.register(new DummyProvider());
  const reconciler = new Reconciler({
    sb,
    ovs,
    providers: registry,
    chassisName: 'hv1',
    integrationBridge: 'br-int',
    ownershipKey: 'ovn-plug-agent',
    removalHold,
    resyncIntervalMs: 600_000,
    providerRunIntervalMs: 600_000,
    planner: planPorts,
    ...time.runtime,
    logger: noopLogger,
    ...(onTransition === undefined ? {} : { onTransition }),
  });
  reconciler.start();
  await time.flush();
  return reconciler;
}

let running: Reconciler | undefined;
beforeEach(() => {
  time = fakeReconcilerTime();
});
afterEach(async () => {
  const stopping = running?.stop();
  await time.advance(5_000); // stop() waits at most 5 s for a transaction left in flight
  await stopping;
  running = undefined;
});

describe('Reconciler with scripted transaction outcomes', () => {
  it('sends the whole plan as one verify-guarded transaction and stays quiet once the replica shows it', async () => {
    const { ovs, sb } = world(['a', 'b']);
    ovs.outcomes.push((tx) => commit(ovs, tx));
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(running.status().ports.map((p) => p.state)).toEqual(['Plugged', 'Plugged']);
    expect(ovs.sent).toHaveLength(1);
    const tx = ovs.sent[0];
    expect(insertedNames(tx!).sort()).toEqual(['a', 'b']);
    expect((tx!.ops[0] as Record<string, unknown>)['op']).toBe('wait');
    running.schedule('timer');
    await time.advance(50);
    expect(ovs.sent).toHaveLength(1);
  });

  it('waits for the replica to show a commit before planning again, without flipping the port back to Pending', async () => {
    const { ovs, sb } = world(['a']);
    const states: (string | undefined)[] = [];
    // The reply comes first; the update that shows the rows only 50 ms later.
    ovs.outcomes.push((tx) => commit(ovs, tx, { ms: 50, timers: time.timers }));
    running = await startReconciler(ovs, sb, (t) => states.push(t.to));
    await time.flush();
    expect(states).toEqual(['Plugging']); // the reply is in, the rows are not
    await time.advance(50);
    expect(running.status().ports[0]?.state).toBe('Plugged');
    expect(ovs.sent).toHaveLength(1);
    expect(states).toEqual(['Plugging', 'Plugged']);
  });

  it('never resends after an unknown outcome: it waits for the replica and plans from what it shows', async () => {
    const { ovs, sb } = world(['a']);
    let inFlight: PreparedTransaction | undefined;
    ovs.outcomes.push((tx) => {
      inFlight = tx;
      return { status: 'unknown', reason: 'disconnected' };
    });
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(ovs.sent).toHaveLength(1);
    running.schedule('reconnect');
    await time.advance(100);
    expect(ovs.sent).toHaveLength(1);
    // The replica catches up and shows that the transaction did commit: nothing more to send.
    if (inFlight === undefined) throw new Error('no transaction');
    commit(ovs, inFlight);
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Plugged');
    await time.advance(50);
    expect(ovs.sent).toHaveLength(1);
  });

  it('after an unknown outcome that did not commit, plans again once the replica moved', async () => {
    const { ovs, sb } = world(['a']);
    ovs.outcomes.push(() => ({ status: 'unknown', reason: 'timeout' }));
    ovs.outcomes.push((tx) => commit(ovs, tx));
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(ovs.sent).toHaveLength(1);
    await time.advance(50);
    expect(ovs.sent).toHaveLength(1);
    ovs.apply({ Open_vSwitch: { '00000000-0000-4000-8000-0000000000f1': { insert: {} } } });
    await time.flush();
    expect(ovs.sent).toHaveLength(2);
    expect(insertedNames(ovs.sent[1]!)).toEqual(['a']);
  });

  it('attributes an operation error to its port: Failed with the error verbatim, the others go on', async () => {
    const { ovs, sb } = world(['a', 'b']);
    ovs.outcomes.push((tx) => {
      const index = (tx.ops as Record<string, unknown>[]).findIndex(
        (op) =>
          op['op'] === 'insert' &&
          op['table'] === 'Interface' &&
          (op['row'] as Record<string, unknown>)['name'] === 'b',
      );
      return {
        status: 'error',
        scope: 'op',
        opIndex: index,
        error: 'constraint violation',
        details: 'b is bad',
      };
    });
    ovs.outcomes.push((tx) => commit(ovs, tx));
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(ovs.sent).toHaveLength(2);
    expect(insertedNames(ovs.sent[1]!)).toEqual(['a']);
    await time.flush();
    expect(running.status().ports.find((p) => p.logicalPort === 'b')).toMatchObject({
      state: 'Failed',
      reason: 'TransactionFailed',
      message: 'constraint violation: b is bad',
    });
    expect(running.status().ports.find((p) => p.logicalPort === 'a')?.state).toBe('Plugged');
  });

  it('retries the ports of a commit-time error one per transaction to find the culprit', async () => {
    const { ovs, sb } = world(['a', 'b']);
    ovs.outcomes.push((tx) => ({
      status: 'error',
      scope: 'commit',
      opIndex: tx.ops.length,
      error: 'referential integrity violation',
    }));
    ovs.outcomes.push((tx) => commit(ovs, tx));
    ovs.outcomes.push((tx) => commit(ovs, tx));
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(ovs.sent).toHaveLength(1);
    await time.advance(999);
    expect(ovs.sent).toHaveLength(1); // both set aside for 1 s
    await time.advance(1_001);
    expect(ovs.sent).toHaveLength(3);
    expect(insertedNames(ovs.sent[0]!).sort()).toEqual(['a', 'b']);
    expect(insertedNames(ovs.sent[1]!)).toHaveLength(1);
    expect(insertedNames(ovs.sent[2]!)).toHaveLength(1);
    await time.flush();
    expect(running.status().ports.map((p) => p.state)).toEqual(['Plugged', 'Plugged']);
  });

  it('keeps at most one transaction in flight however many changes arrive', async () => {
    const { ovs, sb } = world(['a']);
    let reply: (o: TxnOutcome) => void = () => undefined;
    let pending: PreparedTransaction | undefined;
    ovs.outcomes.push((tx) => {
      pending = tx;
      return new Promise<TxnOutcome>((resolve) => (reply = resolve));
    });
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(ovs.sent).toHaveLength(1);
    expect(running.status().ports[0]?.state).toBe('Plugging');
    for (let i = 0; i < 20; i++) {
      sb.apply({ Chassis: { [CHASSIS]: { modify: { name: i % 2 === 0 ? 'hv1' : 'hv1' } } } });
      running.schedule('change');
    }
    await time.advance(50);
    expect(ovs.sent).toHaveLength(1);
    if (pending === undefined) throw new Error('no transaction');
    reply(commit(ovs, pending));
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Plugged');
    expect(ovs.sent).toHaveLength(1);
  });
});

const PB_A = '00000000-0000-4000-8000-000000000010';
const IF_X = '00000000-0000-4000-8000-0000000000e1';
const PORT_X = '00000000-0000-4000-8000-0000000000e2';

/** The `wait` operations of `tx` on `table`, by row uuid, with the columns they compare. */
function waitsOn(tx: PreparedTransaction, table: string): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const op of tx.ops as Record<string, unknown>[]) {
    if (op['op'] !== 'wait' || op['table'] !== table) continue;
    const where = op['where'] as [string, string, [string, string]][];
    const uuid = where[0]?.[2][1] ?? '';
    out.set(uuid, (op['rows'] as Record<string, unknown>[])[0] ?? {});
  }
  return out;
}

/** An owned Port `x` with its only Interface `x` on br-int, not wanted by any Port_Binding. */
function ownedUnwantedX(ovs: FakeOvs): void {
  ovs.apply({
    Interface: {
      [IF_X]: {
        initial: {
          name: 'x',
          external_ids: [
            'map',
            [
              ['iface-id', 'x'],
              ['ovn-plug-agent', 'dummy'],
            ],
          ],
        },
      },
    },
    Port: { [PORT_X]: { initial: { name: 'x', interfaces: ['uuid', IF_X] } } },
    Bridge: { [BRIDGE]: { modify: { ports: ['set', [['uuid', PORT_X]]] } } },
  });
}

describe('Reconciler safety guards (review findings)', () => {
  it('verifies the removed Port’s interfaces and its Interface’s external_ids as the plan read them', async () => {
    const { ovs, sb } = world([]);
    ovs.outcomes.push(() => ({ status: 'unknown', reason: 'timeout' }));
    running = await startReconciler(ovs, sb);
    // A stale interface of ours appearing within the session goes at once (DESIGN §3.4 case 4).
    await time.flush();
    expect(running.stats.rounds).toBeGreaterThan(0);
    ownedUnwantedX(ovs);
    await time.flush();
    expect(ovs.sent).toHaveLength(1);
    const tx = ovs.sent[0]!;
    expect(waitsOn(tx, 'Port').get(PORT_X)).toEqual({ interfaces: ['set', [['uuid', IF_X]]] });
    expect(waitsOn(tx, 'Interface').get(IF_X)).toEqual({
      external_ids: [
        'map',
        [
          ['iface-id', 'x'],
          ['ovn-plug-agent', 'dummy'],
        ],
      ],
    });
  });

  it('a removal whose ownership marker vanished before the commit gets tryAgain and the now-foreign port is left alone', async () => {
    const { ovs, sb } = world([]);
    // The "server": someone removed the marker just before our transaction executes. A wait on the
    // Interface's external_ids with the old value fails (tryAgain); without one, the delete commits.
    ovs.outcomes.push((tx) => {
      const markerGone = {
        Interface: { [IF_X]: { modify: { external_ids: ['map', [['ovn-plug-agent', 'dummy']]] } } },
      };
      if (waitsOn(tx, 'Interface').has(IF_X)) {
        time.timers.setTimer(() => ovs.apply(markerGone), 5);
        return { status: 'tryAgain', reason: 'verify-failed' };
      }
      ovs.apply({ Port: { [PORT_X]: { delete: null } }, Interface: { [IF_X]: { delete: null } } });
      return {
        status: 'success',
        results: [],
        uuids: new Map(),
        selected: new Map(),
        incremented: new Map(),
      };
    });
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(running.stats.rounds).toBeGreaterThan(0);
    ownedUnwantedX(ovs);
    await time.flush();
    expect(ovs.sent).toHaveLength(1);
    await time.advance(100);
    expect(ovs.table('Port').get(PORT_X)).toBeDefined();
    expect(ovs.table('Interface').get(IF_X)).toBeDefined();
    running.schedule('timer');
    await time.advance(50);
    expect(ovs.sent).toHaveLength(1); // foreign now: never touched again
  });

  it('verifies external_ids of every updated Interface, not only the columns it changes', async () => {
    const { ovs, sb } = world(['a']);
    ovs.outcomes.push((tx) => commit(ovs, tx));
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Plugged');
    ovs.outcomes.push(() => ({ status: 'unknown', reason: 'timeout' }));
    sb.apply({
      Port_Binding: {
        // update2 `modify` carries a map diff: this adds the key.
        [PB_A]: { modify: { options: ['map', [['vif-plug-mtu-request', '1400']]] } },
      },
    });
    await time.flush();
    expect(ovs.sent).toHaveLength(2);
    const iface = ovs.table('Interface').all()[0]!;
    expect(waitsOn(ovs.sent[1]!, 'Interface').get(iface._uuid)).toHaveProperty('external_ids');
  });

  it('a port whose failed update is no longer needed does not stay Failed', async () => {
    const { ovs, sb } = world(['a']);
    ovs.outcomes.push((tx) => commit(ovs, tx));
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Plugged');
    ovs.outcomes.push(() => ({ status: 'error', scope: 'rpc', error: 'I/O error' }));
    sb.apply({
      Port_Binding: {
        // update2 `modify` carries a map diff: this adds the key.
        [PB_A]: { modify: { options: ['map', [['vif-plug-mtu-request', '1400']]] } },
      },
    });
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Failed');
    // The CMS withdraws the MTU request: the interface already matches, nothing is left to write.
    // The same diff again removes the key.
    sb.apply({
      Port_Binding: { [PB_A]: { modify: { options: ['map', [['vif-plug-mtu-request', '1400']]] } } },
    });
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Plugged');
    const iface = ovs.table('Interface').all()[0]!;
    ovs.apply({
      Interface: {
        [iface._uuid]: {
          modify: { ofport: 5, external_ids: ['map', [['ovn-installed', 'true']]] },
        },
      },
    });
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Bound');
    expect(ovs.sent).toHaveLength(2);
  });

  it('a mass removal within a session is held per port, while a later small removal goes at once', async () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const { ovs, sb } = world(names);
    ovs.outcomes.push((tx) => commit(ovs, tx));
    running = await startReconciler(ovs, sb, undefined, { share: 0.5, minCount: 2, graceMs: 600 });
    await time.flush();
    expect(running.status().ports.filter((p) => p.state === 'Plugged')).toHaveLength(6);
    const pbUuid = (i: number) => `00000000-0000-4000-8000-0000000000${String(i + 10)}`;
    const pb = (name: string) => ({
      logical_port: name,
      type: '',
      options: ['map', [['vif-plug-type', 'dummy']]],
      requested_chassis: ['uuid', CHASSIS],
    });
    const portName = new Map(
      ovs
        .table('Port')
        .all()
        .map((r) => [r._uuid, r['name'] as string]),
    );
    const removedBy = (tx: PreparedTransaction): string[] => {
      const mutate = (tx.ops as Record<string, unknown>[]).find((o) => o['op'] === 'mutate');
      const ports = ((mutate?.['mutations'] as unknown[][] | undefined)?.[0]?.[2] ?? ['set', []]) as [
        string,
        [string, string][],
      ];
      return ports[1].map(([, u]) => portName.get(u) ?? u).sort();
    };
    const dropFromReplica = (gone: string[]): void =>
      ovs.apply({
        Port: Object.fromEntries(
          ovs
            .table('Port')
            .all()
            .filter((r) => gone.includes(r['name'] as string))
            .map((r) => [r._uuid, { delete: null }]),
        ),
      });
    // t=0: a, b, c, d go in one round (4 of 6 > 50 %, ≥ 2): held.
    const t0 = time.now();
    sb.apply({ Port_Binding: Object.fromEntries([0, 1, 2, 3].map((i) => [pbUuid(i), { delete: null }])) });
    await time.advance(300);
    expect(ovs.sent).toHaveLength(1);
    expect(running.status().heldRemovals?.count).toBe(4);
    expect(running.status().ports.find((p) => p.logicalPort === 'c')?.reason).toBe('RemovalHeld');
    // a and b come back, e and f go: 2 of 6 in that round, below the share: at once.
    ovs.outcomes.push(() => ({ status: 'unknown', reason: 'timeout' }));
    sb.apply({
      Port_Binding: {
        [pbUuid(0)]: { insert: pb('a') },
        [pbUuid(1)]: { insert: pb('b') },
        [pbUuid(4)]: { delete: null },
        [pbUuid(5)]: { delete: null },
      },
    });
    await time.flush();
    expect(ovs.sent).toHaveLength(2);
    expect(time.now() - t0).toBeLessThan(600);
    expect(removedBy(ovs.sent[1]!)).toEqual(['e', 'f']);
    expect(running.status().heldRemovals?.count).toBe(2);
    // The replica shows e and f gone; c and d go once their grace is over.
    ovs.outcomes.push(() => ({ status: 'unknown', reason: 'timeout' }));
    dropFromReplica(['e', 'f']);
    await time.flush();
    await time.advance(t0 + 599 - time.now());
    expect(ovs.sent).toHaveLength(2); // not before the grace is over
    await time.advance(100);
    expect(ovs.sent).toHaveLength(3);
    expect(time.now() - t0).toBeGreaterThanOrEqual(600);
    expect(removedBy(ovs.sent[2]!)).toEqual(['c', 'd']);
  });

  it('a wanted port whose duplicate interface is being removed is not reported Unplugging', async () => {
    const { ovs, sb } = world(['a']);
    ovs.outcomes.push((tx) => commit(ovs, tx));
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Plugged');
    const IF_DUP = '00000000-0000-4000-8000-0000000000e3';
    const PORT_DUP = '00000000-0000-4000-8000-0000000000e4';
    let reply: (o: TxnOutcome) => void = () => undefined;
    ovs.outcomes.push(() => new Promise<TxnOutcome>((resolve) => (reply = resolve))); // stays in flight
    ovs.apply({
      Interface: {
        [IF_DUP]: {
          insert: {
            name: 'a-old',
            external_ids: [
              'map',
              [
                ['iface-id', 'a'],
                ['ovn-plug-agent', 'dummy'],
              ],
            ],
          },
        },
      },
      Port: { [PORT_DUP]: { insert: { name: 'a-old', interfaces: ['uuid', IF_DUP] } } },
      Bridge: { [BRIDGE]: { modify: { ports: ['set', [['uuid', PORT_DUP]]] } } }, // a diff: adds it
    });
    await time.flush();
    expect(ovs.sent).toHaveLength(2);
    expect(waitsOn(ovs.sent[1]!, 'Port').has(PORT_DUP)).toBe(true); // the duplicate's removal
    await time.advance(20);
    expect(running.status().ports.map((p) => [p.logicalPort, p.state])).toEqual([['a', 'Plugged']]);
    reply({ status: 'unknown', reason: 'timeout' });
  });

  it('a quarantined port’s retry time does not postpone a hold’s expiry', async () => {
    const { ovs, sb } = world(['a', 'b', 'c', 'd']);
    ovs.outcomes.push((tx) => commit(ovs, tx));
    running = await startReconciler(ovs, sb, undefined, { share: 0.5, minCount: 2, graceMs: 300 });
    await time.flush();
    expect(running.status().ports.filter((p) => p.state === 'Plugged')).toHaveLength(4);
    // a's update fails: a is set aside for 1 s.
    ovs.outcomes.push(() => ({ status: 'error', scope: 'rpc', error: 'I/O error' }));
    sb.apply({
      Port_Binding: { [PB_A]: { modify: { options: ['map', [['vif-plug-mtu-request', '1400']]] } } },
    });
    await time.flush();
    expect(running.status().ports.find((p) => p.logicalPort === 'a')?.state).toBe('Failed');
    // b, c, d go (3 of 4): held for 300 ms, while a's retry is due only ~1 s after its failure.
    const t0 = time.now();
    ovs.outcomes.push(() => ({ status: 'unknown', reason: 'timeout' }));
    sb.apply({
      Port_Binding: Object.fromEntries(
        [1, 2, 3].map((i) => [`00000000-0000-4000-8000-0000000000${String(i + 10)}`, { delete: null }]),
      ),
    });
    await time.advance(299);
    expect(ovs.sent).toHaveLength(2); // held
    await time.advance(t0 + 699 - time.now());
    expect(ovs.sent).toHaveLength(3);
    expect(time.now() - t0).toBeLessThan(700);
    expect(waitsOn(ovs.sent[2]!, 'Port').size).toBe(3); // the three removals
  });
});
