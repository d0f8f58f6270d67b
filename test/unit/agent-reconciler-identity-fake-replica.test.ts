/**
 * `Reconciler.setIdentity` (DESIGN §3.5a) with the Southbound condition held back: a real server
 * acknowledges a condition change within milliseconds, so "nothing is removed before the new
 * condition is in effect" can only be shown with a replica whose condition seqno the test moves
 * (hence FAKE in the file name). The replicas are real `Replica` caches fed with update2 messages;
 * `transact` records, and commits what it inserts into the replica (as the server's update would):
 * a transaction that never shows would be replanned and resent at once, round after round. The
 * live behaviour is tested on the real sandbox in test/integration/agent-identity.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Replica,
  TransactionBuilder,
  where,
  type ClientEvents,
  type MonitorCondition,
  type PreparedTransaction,
  type TxnOutcome,
} from '../../src/ovsdb/index.js';
import { planPorts, ProviderRegistry } from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import { noopLogger, Reconciler, type AgentStatus } from '../../src/agent/index.js';
import { commit, fakeReconcilerTime, SB, VSWITCH, type FakeReconcilerTime } from './fake-replica-world.js';

const BR_INT = '00000000-0000-4000-8000-00000000b001';
const BR_NEW = '00000000-0000-4000-8000-00000000b002';
const PORT_A = '00000000-0000-4000-8000-00000000a001';
const IFACE_A = '00000000-0000-4000-8000-00000000a002';
const FOREIGN_PORT = '00000000-0000-4000-8000-00000000f001';
const FOREIGN_IFACE = '00000000-0000-4000-8000-00000000f002';
const HV1 = '00000000-0000-4000-8000-0000000c0001';
const HV2 = '00000000-0000-4000-8000-0000000c0002';
const PB_A = '00000000-0000-4000-8000-0000000000a1';
const PB_B = '00000000-0000-4000-8000-0000000000b1';

type Listener = (...args: unknown[]) => void;

class FakeReplica {
  readonly replica: Replica;
  readonly #listeners = new Map<string, Set<Listener>>();
  state: 'monitoring' | 'connecting' = 'monitoring';
  readonly currentRemote = 'unix:/fake';
  constructor(schema: ConstructorParameters<typeof Replica>[0]) {
    this.replica = new Replica(schema);
  }
  get seqno(): number {
    return this.replica.seqno;
  }
  table(name: string) {
    return this.replica.table(name);
  }
  apply(updates: Record<string, unknown>): void {
    const batch = this.replica.applyUpdate('update2', updates);
    for (const l of this.#listeners.get('change') ?? []) l(batch);
  }
  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    const set = this.#listeners.get(event) ?? new Set();
    set.add(listener as Listener);
    this.#listeners.set(event, set);
    return this;
  }
  off<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    this.#listeners.get(event)?.delete(listener as Listener);
    return this;
  }
}

/** The SB side: condition changes are recorded and take effect only when the test says so. */
class FakeSb extends FakeReplica {
  readonly conditions: { table: string; where: MonitorCondition; seqno: number }[] = [];
  conditionSeqno = 1;
  #requested = 1;
  readonly #waiters: { n: number; resolve: () => void }[] = [];
  setCondition(table: string, where: MonitorCondition): number {
    this.#requested += 1;
    this.conditions.push({ table, where, seqno: this.#requested });
    return this.#requested;
  }
  waitForConditionSeqno(n: number): Promise<void> {
    if (this.conditionSeqno >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
  /** Acknowledges every condition change requested so far. */
  ackConditions(): void {
    this.conditionSeqno = this.#requested;
    for (const w of this.#waiters.splice(0)) if (w.n <= this.conditionSeqno) w.resolve();
  }
}

class FakeOvs extends FakeReplica {
  readonly sent: PreparedTransaction[] = [];
  transact(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome> {
    const builder = new TransactionBuilder(VSWITCH);
    build(builder);
    const tx = builder.build();
    this.sent.push(tx);
    if (tx.inserts.length > 0) return Promise.resolve(commit(this, tx));
    return Promise.resolve({
      status: 'success',
      results: [],
      uuids: new Map(),
      selected: new Map(),
      incremented: new Map(),
    });
  }
}

const ops = (tx: PreparedTransaction): Record<string, unknown>[] => tx.ops as Record<string, unknown>[];
const opsOf = (ovs: FakeOvs, kind: string): Record<string, unknown>[] =>
  ovs.sent.flatMap(ops).filter((op) => op['op'] === kind);

/** hv1 with port `a` plugged exactly as the dummy provider answers, plus a foreign port on br-int. */
function world() {
  const ovs = new FakeOvs(VSWITCH);
  ovs.apply({
    Interface: {
      [IFACE_A]: {
        initial: {
          name: 'a',
          type: 'internal',
          options: ['map', [['vif-plug-dummy-option', 'value']]],
          external_ids: [
            'map',
            [
              ['iface-id', 'a'],
              ['ovn-plug-agent', 'dummy'],
            ],
          ],
          ofport: 1,
        },
      },
      [FOREIGN_IFACE]: {
        initial: { name: 'vm9', external_ids: ['map', [['iface-id', 'vm9']]], ofport: 2 },
      },
    },
    Port: {
      [PORT_A]: { initial: { name: 'a', interfaces: ['uuid', IFACE_A] } },
      [FOREIGN_PORT]: { initial: { name: 'vm9', interfaces: ['uuid', FOREIGN_IFACE] } },
    },
    Bridge: {
      [BR_INT]: {
        initial: {
          name: 'br-int',
          ports: [
            'set',
            [
              ['uuid', PORT_A],
              ['uuid', FOREIGN_PORT],
            ],
          ],
        },
      },
      [BR_NEW]: { initial: { name: 'br-new', ports: ['set', []] } },
    },
  });
  const sb = new FakeSb(SB);
  sb.apply({ Chassis: { [HV1]: { initial: { name: 'hv1' } } } });
  sb.apply({
    Port_Binding: {
      [PB_A]: {
        initial: {
          logical_port: 'a',
          type: '',
          options: ['map', [['vif-plug-type', 'dummy']]],
          requested_chassis: ['uuid', HV1],
        },
      },
    },
  });
  return { ovs, sb };
}

/** The fake time of the running test: rounds run on `flush()`, timers fire on `advance()`. */
let time: FakeReconcilerTime;
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

async function startReconciler(
  ovs: FakeOvs,
  sb: FakeSb,
  onStatus?: (s: AgentStatus) => void,
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
    removalHold: { share: 0.5, minCount: 8, graceMs: 60_000 },
    resyncIntervalMs: 600_000,
    providerRunIntervalMs: 600_000,
    planner: planPorts,
    ...time.runtime,
    logger: noopLogger,
    ...(onStatus === undefined ? {} : { onStatus }),
  });
  reconciler.start();
  await time.flush();
  return reconciler;
}

describe('Reconciler.setIdentity (FAKE condition timing)', () => {
  it('a new system-id: nothing is removed until the Port_Binding condition for the new Chassis row is in effect', async () => {
    const { ovs, sb } = world();
    sb.ackConditions();
    const statuses: AgentStatus[] = [];
    running = await startReconciler(ovs, sb, (s) => statuses.push(s));
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Plugged');
    expect(ovs.sent).toHaveLength(0);

    running.setIdentity({ chassisName: 'hv2', integrationBridge: 'br-int' });
    expect(running.status().chassis).toBe('hv2');
    expect(statuses.at(-1)?.chassis).toBe('hv2');
    expect(sb.conditions.at(-1)).toMatchObject({ table: 'Chassis', where: [where('name', '==', 'hv2')] });
    // The operator deletes the old Chassis row: `a` is no longer requested by anything we know.
    sb.apply({ Chassis: { [HV1]: { delete: null } } });
    await time.advance(50);
    expect(ovs.sent).toHaveLength(0);
    expect(running.status().sb.synced).toBe(false);

    // ovn-controller registers hv2; the CMS requests `b` there; the condition change is not acked yet.
    sb.ackConditions();
    sb.apply({ Chassis: { [HV2]: { initial: { name: 'hv2' } } } });
    await time.flush();
    expect(sb.conditions.at(-1)).toMatchObject({
      table: 'Port_Binding',
      where: [
        where('requested_chassis', '==', HV2),
        where('requested_additional_chassis', 'includes', [HV2]),
      ],
    });
    sb.apply({
      Port_Binding: {
        [PB_B]: {
          initial: {
            logical_port: 'b',
            type: '',
            options: ['map', [['vif-plug-type', 'dummy']]],
            requested_chassis: ['uuid', HV2],
          },
        },
      },
    });
    await time.flush();
    expect(ovs.sent.length).toBeGreaterThan(0);
    await time.advance(50);
    expect(ovs.sent).toHaveLength(1); // sent once: the replica shows it
    // `b` is plugged at once; `a` (requested on the old chassis) is not touched before the ack.
    expect(opsOf(ovs, 'insert').map((op) => (op['row'] as Record<string, unknown>)['name'])).toContain('b');
    expect(opsOf(ovs, 'delete')).toEqual([]);
    expect(JSON.stringify(opsOf(ovs, 'mutate'))).not.toContain(PORT_A);
    expect(running.status().sb.synced).toBe(false);

    sb.ackConditions();
    await time.flush();
    expect(running.status().sb.synced).toBe(true);
  });

  it('a new integration bridge: the owned port moves there in one transaction, same rows, foreign port untouched', async () => {
    const { ovs, sb } = world();
    sb.ackConditions();
    running = await startReconciler(ovs, sb);
    await time.flush();
    expect(running.status().ports[0]?.state).toBe('Plugged');

    running.setIdentity({ chassisName: 'hv1', integrationBridge: 'br-new' });
    expect(running.status().integrationBridge).toBe('br-new');
    await time.flush();
    expect(ovs.sent).toHaveLength(1);
    const tx = ovs.sent[0];
    if (tx === undefined) throw new Error('no transaction');
    // Verify the interface is still ours, then take the Port off br-int and put it on br-new.
    expect(ops(tx)).toEqual([
      expect.objectContaining({ op: 'wait', table: 'Interface', columns: ['external_ids'] }),
      expect.objectContaining({
        op: 'mutate',
        table: 'Bridge',
        where: [['_uuid', '==', ['uuid', BR_INT]]],
        mutations: [['ports', 'delete', ['set', [['uuid', PORT_A]]]]],
      }),
      expect.objectContaining({
        op: 'mutate',
        table: 'Bridge',
        where: [['_uuid', '==', ['uuid', BR_NEW]]],
        mutations: [['ports', 'insert', ['set', [['uuid', PORT_A]]]]],
      }),
    ]);
    // The replica shows the move: nothing more to do, `a` stays plugged on br-new without any insert.
    ovs.apply({
      Bridge: {
        [BR_INT]: { modify: { ports: ['uuid', PORT_A] } },
        [BR_NEW]: { modify: { ports: ['uuid', PORT_A] } },
      },
    });
    await time.advance(100);
    running.schedule('timer');
    await time.advance(100);
    expect(ovs.sent).toHaveLength(1);
    expect(running.status().ports.map((p) => [p.logicalPort, p.state, p.interfaceName])).toEqual([
      ['a', 'Plugged', 'a'],
    ]);
  });
});
