/**
 * The OVS writer's error attribution: an error outcome's `opIndex` names a port through the op
 * handles the transaction builder returned, wherever the builder placed the op (a lock assert
 * the client adds after the writer's build function, merged verifies before every write).
 */
import { describe, expect, it } from 'vitest';
import { TransactionBuilder, type PreparedTransaction, type TxnOutcome } from '../../src/ovsdb/index.js';
import {
  noopLogger,
  planPorts,
  ProviderRegistry,
  type Plan,
  type PlannedRemove,
  type PreparedPlug,
} from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import { OvsWriter, planRows, workOf } from '../../src/agent/index.js';
import { BRIDGE, CHASSIS, FakeReplica, VSWITCH, world } from './fake-replica-world.js';

/** FAKE OVS client: the caller's build function first, then the lock assert, then one scripted reply. */
class LockedOvs extends FakeReplica {
  sent: PreparedTransaction | undefined;
  constructor(private readonly reply: (tx: PreparedTransaction) => TxnOutcome) {
    super(VSWITCH);
    this.apply({ Bridge: { [BRIDGE]: { initial: { name: 'br-int', ports: ['set', []] } } } });
  }
  transact(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome> {
    const builder = new TransactionBuilder(VSWITCH);
    build(builder);
    builder.assertLock('ovn_plug_agent');
    this.sent = builder.build();
    return Promise.resolve(this.reply(this.sent));
  }
}

function opError(index: (tx: PreparedTransaction) => number): (tx: PreparedTransaction) => TxnOutcome {
  return (tx) => ({ status: 'error', scope: 'op', opIndex: index(tx), error: 'constraint violation' });
}

function indexOfInsert(tx: PreparedTransaction, table: string, name: string): number {
  return (tx.ops as Record<string, unknown>[]).findIndex(
    (op) =>
      op['op'] === 'insert' &&
      op['table'] === table &&
      (op['row'] as Record<string, unknown>)['name'] === name,
  );
}

async function send(
  ports: string[],
  reply: (tx: PreparedTransaction) => TxnOutcome,
  setup: (ovs: LockedOvs) => void = () => undefined,
) {
  const { sb } = world(ports);
  const ovs = new LockedOvs(reply);
  setup(ovs);
  const registry = new ProviderRegistry();
  await registry.register(new DummyProvider());
  const plan: Plan = planPorts({
    chassisUuid: CHASSIS,
    integrationBridge: 'br-int',
    ...planRows(sb, ovs),
    providers: registry.lookup,
    config: { ownershipKey: 'ovn-plug-agent', canRemove: true },
  });
  const writer = new OvsWriter({ ovs, ownershipKey: 'ovn-plug-agent', logger: noopLogger });
  const sent = await writer.sendPlan(plan, workOf(plan), 'br-int');
  return { ...sent, tx: ovs.sent! };
}

describe('OvsWriter error attribution', () => {
  it('names the port of the failing op behind a leading lock assert and the bridge verify', async () => {
    const { outcome, written, tx } = await send(
      ['a', 'b'],
      opError((tx) => indexOfInsert(tx, 'Interface', 'b')),
    );
    expect(tx.ops[0]).toMatchObject({ op: 'assert' });
    expect(tx.ops[1]).toMatchObject({ op: 'wait', table: 'Bridge' });
    expect(written.culprit(outcome)).toBe('b');
  });

  it('names the port of its Port insert too', async () => {
    const { outcome, written } = await send(
      ['a', 'b'],
      opError((tx) => indexOfInsert(tx, 'Port', 'a')),
    );
    expect(written.culprit(outcome)).toBe('a');
  });

  it('names no port for the bridge mutation that several ports share, the one port when alone', async () => {
    const last = (tx: PreparedTransaction): number => tx.ops.length - 1;
    const shared = await send(['a', 'b'], opError(last));
    expect(shared.tx.ops[shared.tx.ops.length - 1]).toMatchObject({ op: 'mutate', table: 'Bridge' });
    expect(shared.written.culprit(shared.outcome)).toBeUndefined();
    const alone = await send(['a'], opError(last));
    expect(alone.written.culprit(alone.outcome)).toBe('a');
  });

  it('names no port for a verify, the lock assert or a commit-time error', async () => {
    for (const index of [0, 1, (tx: PreparedTransaction) => tx.ops.length]) {
      const { outcome, written } = await send(
        ['a', 'b'],
        opError(typeof index === 'number' ? () => index : index),
      );
      expect(written.culprit(outcome)).toBeUndefined();
    }
  });
});

const IF_X = '00000000-0000-4000-8000-0000000001f1';
const PORT_X = '00000000-0000-4000-8000-0000000002f1';
const unchanged = (): TxnOutcome => ({ status: 'unchanged' });
const waits = (tx: PreparedTransaction) =>
  (tx.ops as Record<string, unknown>[]).filter((op) => op['op'] === 'wait');

/** `count` plugged ports of someone else on br-int (their rows: enough for the planner). */
function foreignPorts(count: number): (ovs: LockedOvs) => void {
  return (ovs) => {
    const id = (kind: number, i: number): string =>
      `00000000-0000-4000-${(0x8000 + kind).toString(16)}-${i.toString(16).padStart(12, '0')}`;
    const ifaces: Record<string, unknown> = {};
    const ports: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      ifaces[id(1, i)] = { initial: { name: `other${i}` } };
      ports[id(2, i)] = { initial: { name: `other${i}`, interfaces: ['uuid', id(1, i)] } };
    }
    const refs = Object.keys(ports).map((uuid) => ['uuid', uuid]);
    ovs.apply({ Interface: ifaces, Port: ports, Bridge: { [BRIDGE]: { modify: { ports: ['set', refs] } } } });
  };
}

/** An owned Port `x` with its only Interface `x` on br-int. */
function ownedX(ovs: LockedOvs): void {
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

describe('OvsWriter guards (verify rules)', () => {
  it('guards a created port by its name and the bridge, never by the bridge’s ports: same size at 0 and 1,000 ports', async () => {
    const small = await send(['a'], unchanged);
    const large = await send(['a'], unchanged, foreignPorts(1000));
    expect(waits(small.tx)).toEqual([
      {
        op: 'wait',
        timeout: 0,
        table: 'Bridge',
        where: [['_uuid', '==', ['uuid', BRIDGE]]],
        columns: [],
        until: '!=',
        rows: [],
      },
      {
        op: 'wait',
        timeout: 0,
        table: 'Port',
        where: [['name', '==', 'a']],
        columns: [],
        until: '==',
        rows: [],
      },
      {
        op: 'wait',
        timeout: 0,
        table: 'Interface',
        where: [['name', '==', 'a']],
        columns: [],
        until: '==',
        rows: [],
      },
    ]);
    expect(waits(large.tx)).toEqual(waits(small.tx));
    expect(JSON.stringify(large.tx.params).length).toBe(JSON.stringify(small.tx.params).length);
    // The guards come before the inserts (which they would otherwise see).
    const firstInsert = large.tx.ops.findIndex((op) => op['op'] === 'insert');
    expect(large.tx.ops.slice(0, firstInsert).map((op) => op['op'])).toEqual([
      'assert',
      'wait',
      'wait',
      'wait',
    ]);
    expect([...large.tx.verifyOpIndexes]).toEqual([1, 2, 3]);
  });

  it('does not guard a name its own removal frees (take-over: replug of a lingering port onto its name)', async () => {
    const empty = planPorts({
      chassisUuid: CHASSIS,
      integrationBridge: 'br-int',
      ...planRows(world([]).sb, new LockedOvs(unchanged)),
      providers: new ProviderRegistry().lookup,
      config: { ownershipKey: 'ovn-plug-agent', canRemove: true },
    });
    const old: PlannedRemove = {
      logicalPort: 'old-vm',
      plugType: 'dummy',
      interfaceUuid: IF_X,
      interfaceName: 'x',
      portUuid: PORT_X,
      reason: 'NotWanted',
    };
    const replug = {
      logicalPort: 'new-vm',
      plugType: 'dummy',
      portBindingUuid: '00000000-0000-4000-8000-0000000003f1',
      old,
      interface: {
        name: 'x',
        type: '',
        options: {},
        externalIds: { 'iface-id': 'new-vm', 'ovn-plug-agent': 'dummy' },
      },
      prepared: {} as PreparedPlug,
    };
    const plan = { ...empty, replug: [replug] } as Plan;
    const ovs = new LockedOvs(unchanged);
    ownedX(ovs);
    const writer = new OvsWriter({ ovs, ownershipKey: 'ovn-plug-agent', logger: noopLogger });
    await writer.sendPlan(plan, workOf(plan), 'br-int');
    const tables = waits(ovs.sent!).map((op) => op['table']);
    // Bridge exists, the old Port and Interface as read, the bridge still holds the old Port; no name guard.
    expect(tables).toEqual(['Port', 'Interface', 'Bridge', 'Bridge']);
    expect(waits(ovs.sent!).some((op) => (op['where'] as unknown[][])[0]?.[0] === 'name')).toBe(false);
  });

  it('guards a removal by the Port’s interfaces, the Interface’s ownership and the bridge still holding the Port', async () => {
    const { tx } = await send([], unchanged, ownedX);
    expect(waits(tx).map((op) => [op['table'], op['where'], op['columns'], op['until']])).toEqual([
      ['Port', [['_uuid', '==', ['uuid', PORT_X]]], ['interfaces'], '=='],
      ['Interface', [['_uuid', '==', ['uuid', IF_X]]], ['external_ids'], '=='],
      [
        'Bridge',
        [
          ['_uuid', '==', ['uuid', BRIDGE]],
          ['ports', 'includes', ['set', [['uuid', PORT_X]]]],
        ],
        [],
        '!=',
      ],
    ]);
  });
});
