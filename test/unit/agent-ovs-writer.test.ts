/**
 * The OVS writer's error attribution: an error outcome's `opIndex` names a port through the op
 * handles the transaction builder returned, wherever the builder placed the op (a lock assert
 * the client adds after the writer's build function, merged verifies before every write).
 */
import { describe, expect, it } from 'vitest';
import { TransactionBuilder, type PreparedTransaction, type TxnOutcome } from '../../src/ovsdb/index.js';
import { noopLogger, planPorts, ProviderRegistry, type Plan } from '../../src/plug/index.js';
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

async function send(ports: string[], reply: (tx: PreparedTransaction) => TxnOutcome) {
  const { sb } = world(ports);
  const ovs = new LockedOvs(reply);
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
