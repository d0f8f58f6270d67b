/**
 * DESIGN §3.3 against a real server: after a transaction whose outcome is `unknown`, the provider's
 * `finish()` is called once the replica shows that it did commit (then `release()`), and only
 * `release()` when it shows it did not. The sandbox, its databases and the OVS client are real;
 * the only FAKE is `LostReplies`, which sends a transaction to the real server (or drops it) and
 * then tells the reconciler its outcome is unknown, as when the connection drops before the reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OvsdbClient, type TransactionBuilder, type TxnOutcome } from '../../src/ovsdb/index.js';
import {
  planPorts,
  ProviderRegistry,
  systemTimers,
  type PlugAnswer,
  type PlugProvider,
  type PlugReady,
  type PlugRequest,
} from '../../src/plug/index.js';
import { DummyProvider } from '../../src/providers/dummy/index.js';
import { noopLogger, Reconciler } from '../../src/agent/index.js';
import { lspAdd, startSandbox, waitPortBindingUp, waitUntil, type Sandbox } from '../harness/index.js';
import { ForwardingOvsReplica, startAgentReplicas } from './support/agent-replicas.js';

type Fate = 'send' | 'sendLoseReply' | 'drop';

/** FAKE: the real OVS client, except that the next transactions' replies can be lost (or not sent). */
class LostReplies extends ForwardingOvsReplica {
  readonly fates: Fate[] = [];
  sent = 0;
  async transact(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome> {
    const fate = this.fates.shift() ?? 'send';
    this.sent += 1;
    if (fate === 'drop') return { status: 'unknown', reason: 'disconnected' };
    const outcome = await this.real.transact(build);
    return fate === 'send' ? outcome : { status: 'unknown', reason: 'disconnected' };
  }
}

/** The dummy provider, recording per answer its calls and whether the replica showed it at `finish`. */
class Probe implements PlugProvider {
  readonly type = 'dummy';
  readonly #inner = new DummyProvider();
  readonly calls = new Map<PlugReady, string[]>();
  readonly finishedUnseen: string[] = [];
  constructor(readonly shows: (name: string) => boolean) {}
  maintainedIfaceOptions(): readonly string[] {
    return this.#inner.maintainedIfaceOptions();
  }
  prepare(request: PlugRequest): PlugAnswer {
    const answer = this.#inner.prepare(request);
    if (answer.kind !== 'ready') return answer;
    const copy: PlugReady = { ...answer };
    this.calls.set(copy, [`prepare ${request.logicalPort}`]);
    return copy;
  }
  finish(request: PlugRequest, answer: PlugReady): void {
    if (!this.shows(answer.name)) this.finishedUnseen.push(request.logicalPort);
    this.calls.get(answer)?.push('finish');
  }
  release(_request: PlugRequest, answer: PlugReady): void {
    this.calls.get(answer)?.push('release');
  }
  histories(port: string): string[] {
    return [...this.calls.values()]
      .filter((c) => c[0] === `prepare ${port}`)
      .map((c) => c.slice(1).join(','));
  }
}

let sandbox: Sandbox;
let ovs: OvsdbClient;
let sb: OvsdbClient;
let lossy: LostReplies;
let probe: Probe;
let reconciler: Reconciler;

beforeAll(async () => {
  sandbox = await startSandbox({ chassis: ['hv1'] });
  const node = sandbox.node('hv1');
  ({ ovs, sb } = await startAgentReplicas({
    ovsRemote: node.ovs.dbRemote,
    sbRemote: sandbox.central.sbRemote,
    chassis: 'hv1',
  }));
  lossy = new LostReplies(ovs);
  probe = new Probe((name) =>
    ovs
      .table('Interface')
      .all()
      .some((row) => row['name'] === name),
  );
  const registry = new ProviderRegistry();
  await registry.register(probe);
  reconciler = new Reconciler({
    sb,
    ovs: lossy,
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
  });
  reconciler.start();
}, 60_000);

afterAll(async () => {
  await reconciler?.stop();
  await ovs?.close();
  await sb?.close();
  await sandbox?.stop();
});

const stateOf = (name: string) => reconciler.status().ports.find((p) => p.logicalPort === name)?.state;

describe('unknown outcomes against the real server (FAKE: lost reply)', () => {
  it('committed: finish, then release, once the replica shows the interface; never resent', async () => {
    lossy.fates.push('sendLoseReply');
    const sentBefore = lossy.sent;
    await lspAdd(sandbox.central, 'u0', {
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await waitUntil(() => probe.histories('u0').some((h) => h.startsWith('finish')), {
      description: 'u0 finished',
    });
    expect(probe.finishedUnseen).toEqual([]);
    await waitPortBindingUp(sandbox.central, 'u0');
    await waitUntil(() => stateOf('u0') === 'Bound', { description: 'u0 Bound' });
    await new Promise((r) => setTimeout(r, 1_000)); // resync rounds: nothing more to send
    expect(lossy.sent - sentBefore).toBe(1);
    // The transaction's answer was finished then released; every later round's answer released only.
    const histories = probe.histories('u0');
    expect(histories.filter((h) => h === 'finish,release')).toHaveLength(1);
    expect(histories.filter((h) => h !== 'finish,release' && h !== 'release' && h !== '')).toEqual([]);
  });

  it('not committed: release only once the replica moved, then planned and sent again', async () => {
    lossy.fates.push('drop');
    const sentBefore = lossy.sent;
    await lspAdd(sandbox.central, 'u1', {
      options: { 'requested-chassis': 'hv1', 'vif-plug-type': 'dummy' },
    });
    await waitUntil(() => lossy.sent - sentBefore === 1, { description: 'u1 sent (and dropped)' });
    // Any change in the OVS DB moves the replica; it does not show u1.
    await sandbox.node('hv1').ovs.vsctl('set', 'Open_vSwitch', '.', 'external_ids:probe=1');
    await waitUntil(() => stateOf('u1') === 'Bound', { description: 'u1 Bound', timeoutMs: 15_000 });
    expect(lossy.sent - sentBefore).toBe(2);
    expect(probe.finishedUnseen).toEqual([]);
    const histories = probe.histories('u1');
    expect(histories.filter((h) => h === 'finish,release')).toHaveLength(1); // the second transaction
    expect(histories.filter((h) => h.includes('finish') && h !== 'finish,release')).toEqual([]);
    expect(histories.filter((h) => h === '')).toEqual([]); // every answer released
  });
});
