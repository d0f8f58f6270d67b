/**
 * Review finding 1 against a real ovsdb-server: a removal planned while the interface carried our
 * ownership marker, executed after someone removed the marker, must fail its verify (`tryAgain`)
 * and the agent must then leave the now-foreign port alone.
 *
 * The databases and the OVS client are real; the only FAKE is `HeldTransactions`, which records
 * what the reconciler builds and sends it to the real server when the test says so. That window is
 * what a real race needs and cannot be timed from outside: the marker is removed (by ovs-vsctl)
 * between the reconciler's plan and the server executing its transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OvsdbClient,
  TransactionBuilder,
  type Mutation,
  type Row,
  type RowInput,
  type RowSelector,
  type TxnOutcome,
  type WriteHandle,
} from '../../src/ovsdb/index.js';
import {
  DEFAULT_REMOVAL_MIN_COUNT,
  planPorts,
  ProviderRegistry,
  systemTimers,
} from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import { noopLogger, Reconciler } from '../../src/agent/index.js';
import {
  OVN_SB_SCHEMA,
  runCommand,
  startOvsdbServer,
  VSWITCH_SCHEMA,
  waitUntil,
  type OvsdbServer,
} from '../harness/index.js';
import { ForwardingOvsReplica, startAgentReplicas } from './support/agent-replicas.js';

type Replay = (tx: TransactionBuilder) => void;

/** Records the writes and verifies of a removal-only transaction, to replay them later. */
class RecordingBuilder extends TransactionBuilder {
  readonly replay: Replay[] = [];
  override verify(table: string, row: Row, columns: readonly string[]): void {
    this.replay.push((tx) => tx.verify(table, row, columns));
  }
  override mutate(table: string, selector: RowSelector, mutations: readonly Mutation[]): WriteHandle {
    this.replay.push((tx) => tx.mutate(table, selector, mutations));
    return { kind: 'write', table };
  }
  override update(table: string, selector: RowSelector, row: RowInput): WriteHandle {
    this.replay.push((tx) => tx.update(table, selector, row));
    return { kind: 'write', table };
  }
  override insert(): never {
    throw new Error('this FAKE holds removal-only transactions');
  }
}

/** FAKE: the real OVS client, except that transactions wait for `release()` before they are sent. */
class HeldTransactions extends ForwardingOvsReplica {
  readonly held: { replay: Replay[]; resolve: (o: TxnOutcome) => void }[] = [];
  readonly outcomes: TxnOutcome[] = [];
  transact(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome> {
    const recorder = new RecordingBuilder(schemaOf(this.real));
    build(recorder);
    return new Promise((resolve) => this.held.push({ replay: recorder.replay, resolve }));
  }
  /** Sends the oldest held transaction to the real server; resolves with its outcome. */
  async release(): Promise<TxnOutcome> {
    const next = this.held.shift();
    if (next === undefined) throw new Error('no transaction is held');
    const outcome = await this.real.transact((tx) => {
      for (const step of next.replay) step(tx);
    });
    this.outcomes.push(outcome);
    next.resolve(outcome);
    return outcome;
  }
}

function schemaOf(client: OvsdbClient): ConstructorParameters<typeof TransactionBuilder>[0] {
  const schema = client.schema;
  if (schema === undefined) throw new Error('the OVS client has no schema yet');
  return schema;
}

let ovsServer: OvsdbServer;
let sbServer: OvsdbServer;
const clients: OvsdbClient[] = [];
let reconciler: Reconciler | undefined;

beforeAll(async () => {
  ovsServer = await startOvsdbServer({ schema: VSWITCH_SCHEMA, name: 'conf' });
  sbServer = await startOvsdbServer({ schema: OVN_SB_SCHEMA, name: 'sb' });
}, 30_000);

afterAll(async () => {
  await reconciler?.stop();
  for (const c of clients) await c.close();
  await ovsServer?.stop();
  await sbServer?.stop();
});

async function vsctl(...args: string[]): Promise<string> {
  const out = await runCommand('ovs-vsctl', [`--db=${ovsServer.remote}`, '--no-wait', ...args], {
    env: ovsServer.env,
  });
  return out.stdout;
}

describe('a stale removal against a real ovsdb-server (FAKE: held transaction)', () => {
  it('fails its verify once the marker is gone, and the now-foreign port is left alone', async () => {
    await vsctl('init', '--', 'add-br', 'br-int');
    await runCommand('ovn-sbctl', [`--db=${sbServer.remote}`, 'chassis-add', 'hv1', 'geneve', '127.0.0.1'], {
      env: sbServer.env,
    });
    const { ovs, sb } = await startAgentReplicas({
      ovsRemote: ovsServer.remote,
      sbRemote: sbServer.remote,
      chassis: 'hv1',
    });
    clients.push(ovs, sb);
    const held = new HeldTransactions(ovs);
    let sbSynced = false;
    const registry = new ProviderRegistry();
    await registry.register(new DummyProvider());
    reconciler = new Reconciler({
      sb,
      ovs: held,
      providers: registry,
      chassisName: 'hv1',
      integrationBridge: 'br-int',
      ownershipKey: 'ovn-plug-agent',
      // Default policy: x appears through OVS while the SB session is established (DESIGN §3.4
      // case 4), so its removal goes at once, without a hold.
      removalHold: { share: 0.5, minCount: DEFAULT_REMOVAL_MIN_COUNT, graceMs: 60_000 },
      resyncIntervalMs: 200,
      providerRunIntervalMs: 600_000,
      planner: planPorts,
      now: Date.now,
      timers: systemTimers,
      logger: noopLogger,
      onStatus: (status) => {
        if (status.sb.synced) sbSynced = true;
      },
    });
    reconciler.start();
    await waitUntil(() => sbSynced, { description: 'the Southbound sync', timeoutMs: 10_000 });
    // onStatus reports changes only; two resync rounds later the first view has surely been planned.
    await new Promise((r) => setTimeout(r, 500));
    // A stale interface of ours appears, wanted by no Port_Binding: the reconciler plans its removal.
    await vsctl(
      'add-port',
      'br-int',
      'x',
      '--',
      'set',
      'Interface',
      'x',
      'external_ids:iface-id=x',
      'external_ids:ovn-plug-agent=dummy',
    );
    await waitUntil(() => held.held.length === 1, {
      description: 'the removal of x is planned',
      timeoutMs: 10_000,
    });
    // Before the server executes it, an operator takes x over (removes our marker).
    await vsctl('remove', 'Interface', 'x', 'external_ids', 'ovn-plug-agent');
    const outcome = await held.release();
    expect(outcome).toMatchObject({ status: 'tryAgain' });
    // The reconciler replans from the fresh replica: x is foreign now, nothing more is sent.
    await new Promise((r) => setTimeout(r, 1_000)); // five resync rounds
    expect(held.held).toHaveLength(0);
    expect(held.outcomes).toHaveLength(1);
    expect((await vsctl('get', 'Interface', 'x', 'external_ids')).trim()).toBe('{iface-id=x}');
    expect((await vsctl('list-ports', 'br-int')).trim()).toBe('x');
  }, 30_000);
});
