/**
 * `npm run bench:round` — what one change costs the reconciler on a node that already has N plugged
 * ports (DESIGN §4: planning cost per change independent of node size, issue 12 part 2), in
 * process and without servers: the replicas are real `Replica` caches fed with update2 messages
 * (test/unit/fake-replica-world.ts), the OVS side commits each transaction into its replica at
 * once (FAKE server), the provider is `dummy`, the metrics registry is the agent's.
 *
 * For N = 1,000 and 10,000: fill N ports until Bound, then add one port at a time (40, the first
 * 5 not counted) and time, on the real clock (fake time passes for free):
 * - send: from the Southbound update applied to the transaction handed to the OVS server — the
 *   agent's own part of DESIGN §4's SB-update → OVS-commit time, without the sockets;
 * - plan: the planner's part of it;
 * - change: every round the new port causes until it is Bound (plan and send, then the rounds that
 *   see the commit, the ofport and ovn-installed; status and metrics each time) — CPU per change;
 * - resync: one periodic full replan of N ports (the safety net that reads every row again).
 *
 * Last line: round send1k_ms=<x> send10k_ms=<x> plan10k_ms=<x> change1k_ms=<x> change10k_ms=<x> resync10k_ms=<x>
 */
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { AgentMetrics, noopLogger, Reconciler } from '../src/agent/index.js';
import { planPorts, ProviderRegistry } from '../src/plug/index.js';
import { DummyProvider } from '../src/providers/dummy/index.js';
import {
  BRIDGE,
  CHASSIS,
  commit,
  fakeReconcilerTime,
  FakeOvs,
  FakeReplica,
  SB,
  VSWITCH,
} from '../test/unit/fake-replica-world.js';

const CHANGES = 40;
const planMs: number[] = [];

function uuid(prefix: number, i: number): string {
  return `00000000-0000-4000-${prefix.toString(16).padStart(4, '0')}-${i.toString(16).padStart(12, '0')}`;
}

function binding(name: string): Record<string, unknown> {
  return {
    initial: {
      logical_port: name,
      type: '',
      options: ['map', [['vif-plug-type', 'dummy']]],
      requested_chassis: ['uuid', CHASSIS],
      mac: ['set', ['fa:16:3e:00:00:01 10.0.0.1']],
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface RoundFigures {
  /** SB update applied → transaction handed to the server (the agent's share of SB → OVS). */
  readonly sendMs: number;
  /** The planner's part of that. */
  readonly planMs: number;
  /** Every round of one new port, until it is Bound (CPU per change). */
  readonly changeMs: number;
  /** One periodic full replan. */
  readonly resyncMs: number;
}

async function measure(n: number): Promise<RoundFigures> {
  const time = fakeReconcilerTime();
  const ovs = new FakeOvs(VSWITCH);
  ovs.apply({ Bridge: { [BRIDGE]: { initial: { name: 'br-int', ports: ['set', []] } } } });
  const sb = new FakeReplica(SB);
  sb.apply({ Chassis: { [CHASSIS]: { initial: { name: 'hv1' } } } });
  const rows: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) rows[uuid(0x8000, i)] = binding(`p${i}`);
  sb.apply({ Port_Binding: rows });
  // The FAKE server: every transaction commits into the OVS replica at once; `sentAt` is when the
  // reconciler handed it over (what the agent's own SB-update → OVS-commit time is made of here).
  // A millisecond later ovs-vswitchd assigns the ofport and ovn-controller marks the interface
  // installed, so ports end Bound, as on a real node.
  let sentAt = 0;
  let ofport = 0;
  ovs.outcomes.push(
    ...Array.from({ length: 10 * CHANGES + 10 }, () => (tx: Parameters<typeof commit>[1]) => {
      sentAt = performance.now();
      const outcome = commit(ovs, tx);
      const created = outcome.status === 'success' ? [...outcome.uuids.values()] : [];
      time.timers.setTimer(() => {
        const modify: Record<string, unknown> = {};
        for (const uuid of created)
          if (ovs.table('Interface').get(uuid) !== undefined)
            modify[uuid] = {
              modify: { ofport: ++ofport, external_ids: ['map', [['ovn-installed', 'true']]] },
            };
        if (Object.keys(modify).length > 0) ovs.apply({ Interface: modify });
      }, 1);
      return outcome;
    }),
  );
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
    resyncIntervalMs: 30_000,
    providerRunIntervalMs: 600_000,
    // Timed, to tell the planner's share of the change round.
    planner: (input) => {
      const started = performance.now();
      const plan = planPorts(process.env['NO_MEMO'] === undefined ? input : { ...input, memo: undefined });
      planMs.push(performance.now() - started);
      return plan;
    },
    ...time.runtime,
    logger: noopLogger,
    metrics: new AgentMetrics(new Registry()),
  });
  reconciler.start();
  await time.flush();
  await time.advance(100);
  const bound = reconciler.status().ports.filter((p) => p.state === 'Bound').length;
  if (bound !== n) throw new Error(`${bound} of ${n} ports Bound after the fill`);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined && process.env['ROUND_HEAP'] !== undefined) {
    gc();
    console.log(
      `N=${n}: heap used after the fill ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MB`,
    );
  }
  const changes: number[] = [];
  const toSend: number[] = [];
  const planned: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    // Past the duty-cycle cap of the last round: what is measured is the rounds themselves.
    await time.advance(1_000);
    planMs.length = 0;
    const started = performance.now();
    sb.apply({ Port_Binding: { [uuid(0x9000, i)]: binding(`single${i}`) } });
    await time.flush(); // the round that plans and sends, then the one that sees the commit
    toSend.push(sentAt - started);
    planned.push(planMs[0] ?? Number.NaN);
    await time.advance(1); // the rounds that see the ofport and ovn-installed: Bound
    changes.push(performance.now() - started);
  }
  const last = reconciler.status().ports.find((p) => p.logicalPort === `single${CHANGES - 1}`);
  if (last?.state !== 'Bound') throw new Error(`single${CHANGES - 1} is ${last?.state ?? 'missing'}`);
  const resyncs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await time.advance(30_000);
    resyncs.push(performance.now() - started);
  }
  const stopping = reconciler.stop();
  await time.advance(5_000);
  await stopping;
  return {
    changeMs: median(changes.slice(5)),
    sendMs: median(toSend.slice(5)),
    planMs: median(planned.slice(5)),
    resyncMs: median(resyncs),
  };
}

const results: RoundFigures[] = [];
for (const n of [1_000, 10_000]) {
  const r = await measure(n);
  results.push(r);
  console.log(
    `N=${n}: SB change → transaction sent ${r.sendMs.toFixed(2)} ms (planning ${r.planMs.toFixed(2)} ms), every round until Bound ${r.changeMs.toFixed(2)} ms (medians of ${CHANGES - 5} changes); periodic full replan ${r.resyncMs.toFixed(2)} ms`,
  );
}
const [small, large] = results;
if (small === undefined || large === undefined) throw new Error('no results');
console.log(
  `round send1k_ms=${small.sendMs.toFixed(2)} send10k_ms=${large.sendMs.toFixed(2)} plan10k_ms=${large.planMs.toFixed(2)} change1k_ms=${small.changeMs.toFixed(2)} change10k_ms=${large.changeMs.toFixed(2)} resync10k_ms=${large.resyncMs.toFixed(2)}`,
);
