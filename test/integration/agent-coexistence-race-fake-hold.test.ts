/**
 * The race with ovn-controller's built-in plugging (DESIGN §3.5a) against the real sandbox, with
 * the race window opened on purpose. The databases, ovn-controller (with `--enable-dummy-vif-plug`)
 * and the OVS client are real; the only FAKE is `StaleSends`: it builds each transaction when the
 * reconciler asks (from the replica as the plan saw it) and sends it, with the real
 * `ovsdb-client transact`, only when the test says so — after another writer committed. The real
 * server's answer goes back to the reconciler, which must never leave the port `Failed`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import {
  classifyTransactResult,
  type OvsdbClient,
  TransactionBuilder,
  type PreparedTransaction,
  type TxnOutcome,
} from '../../src/ovsdb/index.js';
import { planPorts, ProviderRegistry, systemTimers } from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import {
  AgentMetrics,
  noopLogger,
  Reconciler,
  type PortStatus,
  type PortTransition,
} from '../../src/agent/index.js';
import { asStringMap, startSandbox, waitPortBindingUp, waitUntil, type Sandbox } from '../harness/index.js';
import { ForwardingOvsReplica, startAgentReplicas } from './support/agent-replicas.js';

/** FAKE: builds transactions when asked, sends them (ovsdb-client transact) when released. */
class StaleSends extends ForwardingOvsReplica {
  readonly held: { tx: PreparedTransaction; resolve: (o: TxnOutcome) => void }[] = [];
  readonly outcomes: TxnOutcome[] = [];
  constructor(
    real: OvsdbClient,
    readonly send: (params: readonly unknown[]) => Promise<unknown>,
  ) {
    super(real);
  }
  transact(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome> {
    const schema = this.real.schema;
    if (schema === undefined) throw new Error('the OVS client has no schema yet');
    const builder = new TransactionBuilder(schema);
    build(builder);
    const tx = builder.build();
    return new Promise((resolve) => this.held.push({ tx, resolve }));
  }
  /** Sends the oldest held transaction to the real server; resolves with its outcome. */
  async release(): Promise<TxnOutcome> {
    const next = this.held.shift();
    if (next === undefined) throw new Error('no transaction is held');
    const result = await this.send(next.tx.params);
    const outcome = classifyTransactResult(next.tx, { result });
    this.outcomes.push(outcome);
    next.resolve(outcome);
    return outcome;
  }
}

let sandbox: Sandbox;
let ovs: OvsdbClient;
let sb: OvsdbClient;
let held: StaleSends;
let reconciler: Reconciler;
const metrics = new Registry();
const transitions: PortTransition[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'], enableDummyVifPlug: true });
  const node = sandbox.node('hv1');
  ({ ovs, sb } = await startAgentReplicas({
    ovsRemote: node.ovs.dbRemote,
    sbRemote: sandbox.central.sbRemote,
    chassis: 'hv1',
  }));
  held = new StaleSends(
    ovs,
    async (params) =>
      JSON.parse(
        await node.ovs.ovsdb.client('transact', node.ovs.dbRemote, JSON.stringify(params)),
      ) as unknown,
  );
  const registry = new ProviderRegistry();
  await registry.register(new DummyProvider());
  reconciler = new Reconciler({
    sb,
    ovs: held,
    providers: registry,
    chassisName: 'hv1',
    integrationBridge: 'br-int',
    ownershipKey: 'ovn-plug-agent',
    removalHold: { share: 0.5, minCount: 8, graceMs: 60_000 },
    resyncIntervalMs: 500,
    providerRunIntervalMs: 600_000,
    planner: planPorts,
    now: Date.now,
    timers: systemTimers,
    logger: noopLogger,
    metrics: new AgentMetrics(metrics),
    onTransition: (t) => transitions.push(t),
  });
  reconciler.start();
}, 60_000);

afterAll(async () => {
  await reconciler?.stop();
  await ovs?.close();
  await sb?.close();
  await sandbox?.stop();
});

const statusOf = (name: string): PortStatus | undefined =>
  reconciler.status().ports.find((p) => p.logicalPort === name);

async function transactionsMetric(outcome: string): Promise<number> {
  const metric = await metrics.getSingleMetric('ovn_plug_ovs_transactions_total')?.get();
  return metric?.values.find((v) => v.labels['outcome'] === outcome)?.value ?? 0;
}

function replicaHasInterface(name: string, marker: string): boolean {
  return ovs
    .table('Interface')
    .all()
    .some((row) => {
      const ids = row['external_ids'];
      return row['name'] === name && ids instanceof Map && ids.has(marker);
    });
}

describe('the agent loses the race for a port to ovn-controller (FAKE: held transaction)', () => {
  it('on the same bridge the real server answers tryAgain; the port ends Conflict naming ovn-controller, never Failed', async () => {
    const controller = sandbox.node('hv1').controller;
    if (controller === undefined) throw new Error('no ovn-controller');
    controller.pause();
    try {
      await sandbox.central.nbctlWaitSb(
        'ls-add',
        'ls0',
        '--',
        'lsp-add',
        'ls0',
        'r0',
        '--',
        'lsp-set-options',
        'r0',
        'requested-chassis=hv1',
        'vif-plug-type=dummy',
      );
      await waitUntil(() => held.held.length === 1, { description: 'the agent planned to plug r0' });
    } finally {
      controller.resume();
    }
    // ovn-controller plugs r0 meanwhile; our replica shows it before the stale transaction goes.
    await waitUntil(() => replicaHasInterface('r0', 'ovn-plugged'), {
      description: 'ovn-controller plugged r0',
    });
    // The stale transaction is guarded per name (no Port, no Interface r0), not by br-int's ports.
    expect(nameGuards(held.held[0]!.tx)).toEqual(['Port r0', 'Interface r0']);
    const outcome = await held.release();
    expect(outcome).toMatchObject({ status: 'tryAgain', reason: 'verify-failed' });
    await waitUntil(() => statusOf('r0')?.reason === 'PluggedByOvnController', {
      description: 'r0 Conflict naming ovn-controller',
    });
    expect(statusOf('r0')?.state).toBe('Conflict');
    await new Promise((r) => setTimeout(r, 1_500)); // three resync rounds: nothing more is planned
    expect(held.held).toHaveLength(0);
    await waitPortBindingUp(sandbox.central, 'r0');
    const rows = (await sandbox.node('hv1').ovs.interfaces()).filter(
      (r) => asStringMap(r['external_ids'])['iface-id'] === 'r0',
    );
    expect(rows).toHaveLength(1);
    expect(transitions.filter((t) => t.to === 'Failed')).toEqual([]);
  });

  it('a same-name row committed elsewhere: the name guard answers tryAgain, the port ends Conflict, never Failed', async () => {
    // ovn-controller stays out of this one: the other writer is an operator on another bridge.
    const controller = sandbox.node('hv1').controller;
    if (controller === undefined) throw new Error('no ovn-controller');
    controller.pause();
    try {
      await sandbox.central.nbctlWaitSb(
        'lsp-add',
        'ls0',
        'r1',
        '--',
        'lsp-set-options',
        'r1',
        'requested-chassis=hv1',
        'vif-plug-type=dummy',
      );
      await lostRaceToAnotherBridge();
      await sandbox.central.nbctlWaitSb('lsp-del', 'r1');
      await sandbox.node('hv1').ovs.vsctl('del-br', 'br-other');
    } finally {
      controller.resume();
    }
  });
});

async function lostRaceToAnotherBridge(): Promise<void> {
  await waitUntil(() => held.held.length === 1, { description: 'the agent planned to plug r1' });
  // Someone adds an interface named r1 to another bridge (br-int's ports do not change).
  await sandbox
    .node('hv1')
    .ovs.vsctl(
      'add-br',
      'br-other',
      '--',
      'set',
      'Bridge',
      'br-other',
      'datapath_type=dummy',
      '--',
      'add-port',
      'br-other',
      'r1',
    );
  await waitUntil(
    () =>
      ovs
        .table('Interface')
        .all()
        .some((row) => row['name'] === 'r1'),
    {
      description: 'the replica shows the other r1',
    },
  );
  const tryAgainBefore = await transactionsMetric('tryAgain');
  const conflictsBefore = await transactionsMetric('conflict');
  // Without the per-name verifies the real server would answer a constraint violation on the
  // Interface name index here (still recognised as a lost race: OvsWriter.isLostNameRace).
  const outcome = await held.release();
  expect(outcome).toMatchObject({ status: 'tryAgain', reason: 'verify-failed' });
  await waitUntil(() => statusOf('r1')?.state === 'Conflict', { description: 'r1 Conflict' });
  expect(statusOf('r1')?.reason).toBe('InterfaceNameTaken');
  expect(await transactionsMetric('tryAgain')).toBe(tryAgainBefore + 1);
  expect(await transactionsMetric('conflict')).toBe(conflictsBefore);
  expect(await transactionsMetric('error')).toBe(0);
  expect(transitions.filter((t) => t.to === 'Failed')).toEqual([]);
}

/** The name guards (`verifyNone` waits on `name ==`) of a transaction, as "Table name". */
function nameGuards(tx: PreparedTransaction): string[] {
  return (tx.ops as Record<string, unknown>[]).flatMap((op) => {
    const clause = (op['where'] as unknown[][] | undefined)?.[0];
    return op['op'] === 'wait' && clause?.[0] === 'name'
      ? [`${String(op['table'])} ${String(clause[2])}`]
      : [];
  });
}
