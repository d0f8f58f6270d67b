/**
 * `npm run bench:plug` — end-to-end plug latency of ovn-plug-agent + an unmodified ovn-controller
 * against ovn-controller's built-in plugging (`--enable-dummy-vif-plug`), on fresh sandboxes in
 * one run (DESIGN §4), plus the planner time and the agent's RSS with 10,000 plugged ports.
 *
 * Measurements:
 * - single: one logical port committed to the NB (t0 = our OVSDB client sends the transaction) until
 *   its SB `Port_Binding.up` is true (seen by a second client monitoring the SB = t1); p50 of 25.
 *   Both sandboxes run at once and the samples alternate between them (ADR 0084), so both
 *   series see the same background load.
 * - bulk1000: 1,000 logical ports in one NB transaction until all are up.
 * - plan10k_ms: median time of `planPorts` over 10,000 wanted, already plugged ports (a steady
 *   replan, what every change costs) — the create-everything round is printed too.
 * - rss10k_mb: resident set of the agent process (from its own /metrics) once it has plugged
 *   10,000 ports into an OVS DB without ovs-vswitchd (the rows are real, the datapath is not).
 *
 * Options: `--only=rss`, `--only=churn` (10 × 1,000 plug/unplug, heap and RSS per round),
 * `--only=latency` (single and bulk only), `--only=trace` (per-step timeline logs, ADR 0084),
 * `--skip-compile` (reuse the last build, e.g. after instrumenting it by hand),
 * `--agent-entry=<cli.js>` (run that build instead, e.g. a build of another commit, compiled with
 * `tsc -p tsconfig.build.json --outDir dist/<name>` — under the tree, for its node_modules),
 * `--agent-node-flag=FLAG` (repeatable; `none` for Node's defaults).
 *
 * The agent runs as a child process on compiled JavaScript (`node <build>/src/agent/cli.js`), as in
 * production.
 * The last line is exactly:
 *   plug single_p50_ratio=<ours/builtin> bulk1000_ratio=<ours/builtin> plan10k_ms=<x> rss10k_mb=<y>
 */
import { performance } from 'node:perf_hooks';
import { where } from '../src/ovsdb/index.js';
import {
  planPorts,
  type OvsBridge,
  type OvsInterface,
  type OvsPort,
  type SbPortBinding,
} from '../src/plug/index.js';
import { DummyProvider } from '../src/providers/dummy/index.js';
import { startSandbox, waitUntil, type Sandbox } from '../test/harness/index.js';
import {
  agentRuntime,
  BUILD_DIR,
  compileAgent,
  median,
  metricMb,
  Probe,
  startAgentProcess,
  startHeadlessChassis,
  type AgentProcess,
  type AgentRuntime,
} from './support/index.js';

const SINGLE_RUNS = 25;
const BULK = 1000;
const TRACE_RUNS = 20;
const SCALE = 10_000;
/**
 * V8 flags of the agent process. Default: the image's NODE_OPTIONS (bench/support/agent.ts);
 * override with `--agent-node-flag=...` (repeatable) or `--agent-node-flag=none`.
 */
const GIVEN_FLAGS = process.argv
  .filter((a) => a.startsWith('--agent-node-flag='))
  .map((a) => a.slice('--agent-node-flag='.length));

let runtime: AgentRuntime | undefined;
let agentEntry = '';

/** The compiled agent on the image's Node settings (set up by main). */
function startAgent(ovsDb: string, extraArgs: string[] = [], logFile?: string): Promise<AgentProcess> {
  if (runtime === undefined) throw new Error('agent runtime not resolved');
  return startAgentProcess({
    runtime,
    entry: agentEntry,
    ovsDb,
    extraArgs,
    ...(logFile === undefined ? {} : { logFile }),
  });
}

function log(message: string): void {
  console.log(message);
}

interface LatencyResult {
  readonly singleMs: number[];
  readonly bulkMs: number;
}

/** One side of the comparison: a fresh sandbox, who plugs there, and the probe watching it. */
interface Setup {
  readonly label: 'builtin' | 'agent';
  readonly sandbox: Sandbox;
  readonly agent: AgentProcess | undefined;
  readonly probe: Probe;
}

async function startSetup(builtin: boolean): Promise<Setup> {
  const sandbox: Sandbox = await startSandbox({ chassis: ['hv1'], enableDummyVifPlug: builtin });
  const probe = new Probe(sandbox.central);
  let agent: AgentProcess | undefined;
  try {
    if (!builtin) agent = await startAgent(sandbox.node('hv1').ovs.dbRemote);
    await probe.start();
    const label = builtin ? 'builtin' : 'agent';
    // Warm-up port (first flows, first datapath setup), not counted.
    await probe.addPorts([`${label}-warm`], 'hv1');
    await probe.waitUp([`${label}-warm`]);
    return { label, sandbox, agent, probe };
  } catch (error) {
    await probe.close();
    await agent?.stop();
    await sandbox.stop();
    throw error;
  }
}

async function stopSetup(setup: Setup): Promise<void> {
  await setup.probe.close();
  await setup.agent?.stop();
  await setup.sandbox.stop();
}

async function plugOne(setup: Setup, name: string): Promise<number> {
  const t0 = await setup.probe.addPorts([name], 'hv1');
  return (await setup.probe.waitUp([name])) - t0;
}

/**
 * Both setups run at once; the single-port samples alternate between them (the order flipping
 * every pair), so both see the same background load: on a shared machine, two sequential
 * series differ by more than the effect measured. The bulk workloads then run one after the
 * other (the other sandbox is idle meanwhile).
 */
async function runWorkloads(): Promise<{ builtin: LatencyResult; ours: LatencyResult }> {
  const stopped = new Set<Setup>();
  const builtin = await startSetup(true);
  try {
    const ours = await startSetup(false);
    try {
      const single = { builtin: [] as number[], agent: [] as number[] };
      for (let i = 0; i < SINGLE_RUNS; i++) {
        const order = i % 2 === 0 ? [builtin, ours] : [ours, builtin];
        for (const setup of order) single[setup.label].push(await plugOne(setup, `${setup.label}-s${i}`));
      }
      const bulk = async (setup: Setup): Promise<number> => {
        const names = Array.from({ length: BULK }, (_, i) => `${setup.label}-b${i}`);
        const t0 = await setup.probe.addPorts(names, 'hv1');
        return (await setup.probe.waitUp(names, 300_000)) - t0;
      };
      // The bulk workloads one at a time, each sandbox stopped after its own (its northd and
      // ovn-controller keep working for a while after the last port is up).
      const builtinBulk = await bulk(builtin);
      await stopSetup(builtin);
      stopped.add(builtin);
      const results = {
        builtin: { singleMs: single.builtin, bulkMs: builtinBulk },
        ours: { singleMs: single.agent, bulkMs: await bulk(ours) },
      };
      for (const [label, r] of [
        ['builtin', results.builtin],
        ['agent', results.ours],
      ] as const) {
        log(
          `${label}: single p50 ${median(r.singleMs).toFixed(1)} ms (min ${Math.min(...r.singleMs).toFixed(1)}, max ${Math.max(...r.singleMs).toFixed(1)}, n=${SINGLE_RUNS}); bulk ${BULK} ${r.bulkMs.toFixed(0)} ms`,
        );
      }
      const paired = single.agent.map((ms, i) => ms - (single.builtin[i] ?? Number.NaN));
      log(`single paired difference agent - builtin: median ${median(paired).toFixed(2)} ms`);
      return results;
    } finally {
      await stopSetup(ours);
    }
  } finally {
    if (!stopped.has(builtin)) await stopSetup(builtin);
  }
}

/** Median `planPorts` time over SCALE wanted ports: steady (all plugged) and from scratch. */
function measurePlanner(): { steadyMs: number; createMs: number } {
  const chassisUuid = 'c0000000-0000-4000-8000-000000000001';
  const provider = new DummyProvider();
  const bindings: SbPortBinding[] = [];
  const interfaces: OvsInterface[] = [];
  const ports: OvsPort[] = [];
  for (let i = 0; i < SCALE; i++) {
    const name = `lp${i}`;
    bindings.push({
      uuid: `pb-${i}`,
      logicalPort: name,
      type: '',
      options: { 'vif-plug-type': 'dummy', 'vif-plug-mtu-request': '1500' },
      requestedChassis: chassisUuid,
      requestedAdditionalChassis: [],
    });
    interfaces.push({
      uuid: `if-${i}`,
      name,
      type: 'internal',
      options: { 'vif-plug-dummy-option': 'value' },
      externalIds: { 'iface-id': name, 'ovn-plug-agent': 'dummy', 'ovn-installed': 'true' },
      mtuRequest: 1500,
      ofport: i + 1,
    });
    ports.push({ uuid: `p-${i}`, name, interfaces: [`if-${i}`] });
  }
  const bridge: OvsBridge = { uuid: 'br', name: 'br-int', ports: ports.map((p) => p.uuid) };
  const emptyBridge: OvsBridge = { uuid: 'br', name: 'br-int', ports: [] };
  const lookup = () => ({ kind: 'available' as const, provider });
  const time = (input: Parameters<typeof planPorts>[0], check: (n: number) => void): number => {
    const samples: number[] = [];
    for (let run = 0; run < 25; run++) {
      const t0 = performance.now();
      const plan = planPorts(input);
      samples.push(performance.now() - t0);
      check(plan.unchanged.length + plan.create.length);
    }
    return median(samples.slice(5));
  };
  const config = { ownershipKey: 'ovn-plug-agent' as const, canRemove: true };
  const expectAll = (n: number): void => {
    if (n !== SCALE) throw new Error(`planner saw ${n} ports, expected ${SCALE}`);
  };
  const steadyMs = time(
    {
      chassisUuid,
      integrationBridge: 'br-int',
      portBindings: bindings,
      bridges: [bridge],
      ports,
      interfaces,
      providers: lookup,
      config,
    },
    expectAll,
  );
  const createMs = time(
    {
      chassisUuid,
      integrationBridge: 'br-int',
      portBindings: bindings,
      bridges: [emptyBridge],
      ports: [],
      interfaces: [],
      providers: lookup,
      config,
    },
    expectAll,
  );
  return { steadyMs, createMs };
}

/**
 * `--only=churn`: 10 rounds of plugging and unplugging 1,000 ports (10,000 plug/unplug in all,
 * DESIGN §5), printing the agent's heap and RSS after each round: they must level off, not grow.
 * SB from real northd, OVS DB without vswitchd (as for the RSS figure); mass-removal grace 0.
 */
async function measureChurn(): Promise<void> {
  const node = await startHeadlessChassis('ovs-churn');
  const probe = node.probe;
  let agent: AgentProcess | undefined;
  try {
    agent = await startAgent(node.ovsRemote, ['--mass-removal-grace=0']);
    const url = agent.url;
    const portCount = async (): Promise<number> =>
      ((await (await fetch(`${url}/status`)).json()) as { ports: { state: string }[] }).ports.filter(
        (p) => p.state === 'Plugged',
      ).length;
    const gauge = (name: string): Promise<number> => metricMb(url, name);
    for (let round = 1; round <= 10; round++) {
      const names = Array.from({ length: 1000 }, (_, i) => `c${round}-${i}`);
      await probe.addPorts(names, 'hv1');
      await waitUntil(async () => (await portCount()) === names.length, {
        description: `round ${round}: plugged`,
        timeoutMs: 120_000,
        maxIntervalMs: 200,
      });
      const outcome = await probe.nb.transact((tx) => {
        tx.update('Logical_Switch', [where('name', '==', 'bench')], { ports: [] });
      });
      if (outcome.status !== 'success') throw new Error(`unplug round failed: ${JSON.stringify(outcome)}`);
      await waitUntil(async () => (await portCount()) === 0, {
        description: `round ${round}: unplugged`,
        timeoutMs: 120_000,
        maxIntervalMs: 200,
      });
      log(
        `churn round ${round}: ${round * 1000} plugged+unplugged, heap used ${(await gauge('ovn_plug_nodejs_heap_size_used_bytes')).toFixed(1)} MB, RSS ${(await gauge('ovn_plug_process_resident_memory_bytes')).toFixed(1)} MB`,
      );
    }
  } finally {
    await agent?.stop();
    await node.stop();
  }
}

/** Agent RSS with SCALE plugged ports: SB from real northd, OVS DB without vswitchd. */
async function measureRss(): Promise<number> {
  const node = await startHeadlessChassis('ovs-rss');
  const probe = node.probe;
  let agent: AgentProcess | undefined;
  try {
    agent = await startAgent(node.ovsRemote);
    const url = agent.url;
    const readGauge = (name: string): Promise<number> => metricMb(url, name);
    log(
      `agent with no ports: RSS ${(await readGauge('ovn_plug_process_resident_memory_bytes')).toFixed(1)} MB, heap used ${(await readGauge('ovn_plug_nodejs_heap_size_used_bytes')).toFixed(1)} MB`,
    );
    const names = Array.from({ length: SCALE }, (_, i) => `rss${i}`);
    await probe.addPorts(names, 'hv1');
    await waitUntil(
      async () => {
        const status = (await (await fetch(`${url}/status`)).json()) as { ports: { state: string }[] };
        return status.ports.filter((p) => p.state === 'Plugged').length === SCALE;
      },
      { description: `${SCALE} ports Plugged`, timeoutMs: 300_000, maxIntervalMs: 1000 },
    );
    // The first round (10,000 bindings in, 20,000 rows out in one transaction) peaks; V8 returns
    // that memory once the process has been idle for a while. Report the settled value.
    for (const seconds of [3, 10, 20]) {
      await new Promise((r) => setTimeout(r, seconds === 3 ? 3000 : seconds === 10 ? 7000 : 10000));
      log(
        `  after ${seconds} s: RSS ${(await readGauge('ovn_plug_process_resident_memory_bytes')).toFixed(1)} MB`,
      );
    }
    log(
      `agent with ${SCALE} ports: heap used ${(await readGauge('ovn_plug_nodejs_heap_size_used_bytes')).toFixed(1)} MB of ${(await readGauge('ovn_plug_nodejs_heap_size_total_bytes')).toFixed(1)} MB`,
    );
    return readGauge('ovn_plug_process_resident_memory_bytes');
  } finally {
    await agent?.stop();
    await node.stop();
  }
}

/**
 * `--only=trace`: TRACE_RUNS single ports in each mode, 100 ms apart, with jsonrpc at dbg on both
 * ovsdb-servers (SB and the node's OVS DB: every request/notification with a ms timestamp),
 * ovn-controller at dbg (minus its flow-computation modules) and the agent at info; prints each
 * port's NB send time (wall clock) and latency, and keeps the sandbox directories for reading
 * (ADR 0084 explains how the timelines were read from them).
 */
async function traceWorkload(builtin: boolean): Promise<void> {
  const sandbox: Sandbox = await startSandbox({
    chassis: ['hv1'],
    enableDummyVifPlug: builtin,
    keepFiles: true,
  });
  const label = builtin ? 'builtin' : 'agent';
  let agent: AgentProcess | undefined;
  const probe = new Probe(sandbox.central);
  try {
    const node = sandbox.node('hv1');
    if (!builtin)
      agent = await startAgent(node.ovs.dbRemote, ['--log-level=info'], `${sandbox.dir}/agent.log`);
    await probe.start();
    await probe.addPorts([`${label}-warm`], 'hv1');
    await probe.waitUp([`${label}-warm`]);
    await sandbox.central.sb?.appctl('vlog/set', 'jsonrpc:file:dbg');
    await node.ovs.ovsdb.appctl('vlog/set', 'jsonrpc:file:dbg');
    await node.controller?.appctl('vlog/set', 'file:dbg');
    // The flow-computation modules log thousands of lines per port: keep them quiet.
    for (const module of ['inc_proc_eng', 'ofctrl', 'vconn', 'lflow', 'resource_dep'])
      await node.controller?.appctl('vlog/set', `${module}:file:info`);
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < TRACE_RUNS; i++) {
      const name = `${label}-t${i}`;
      const wall0 = Date.now();
      const t0 = await probe.addPorts([name], 'hv1');
      const t1 = await probe.waitUp([name]);
      log(`trace ${name}: sent ${new Date(wall0).toISOString()} up after ${(t1 - t0).toFixed(1)} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`trace ${label}: logs in ${sandbox.dir}`);
  } finally {
    await probe.close();
    await agent?.stop();
    await sandbox.stop();
  }
}

async function main(): Promise<void> {
  const givenEntry = process.argv.find((a) => a.startsWith('--agent-entry='))?.slice('--agent-entry='.length);
  agentEntry =
    givenEntry ??
    (process.argv.includes('--skip-compile') ? `${BUILD_DIR}/src/agent/cli.js` : await compileAgent(log));
  log(`agent: ${agentEntry}`);
  runtime = await agentRuntime(
    GIVEN_FLAGS.length === 0 ? undefined : GIVEN_FLAGS.filter((f) => f !== 'none'),
  );
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  if (only === 'trace') {
    await traceWorkload(true);
    await traceWorkload(false);
    return;
  }
  if (only === 'churn') {
    await measureChurn();
    return;
  }
  if (only === 'rss') {
    log(`agent RSS with ${SCALE} plugged ports: ${(await measureRss()).toFixed(1)} MB`);
    return;
  }
  log(runtime.description);
  const { steadyMs, createMs } = measurePlanner();
  log(
    `planner: ${SCALE} wanted ports, steady replan median ${steadyMs.toFixed(2)} ms, plugging all from scratch ${createMs.toFixed(2)} ms`,
  );
  const { builtin, ours } = await runWorkloads();
  if (only === 'latency') {
    log(
      `plug single_p50_ratio=${(median(ours.singleMs) / median(builtin.singleMs)).toFixed(3)} bulk1000_ratio=${(ours.bulkMs / builtin.bulkMs).toFixed(3)}`,
    );
    return;
  }
  const rss = await measureRss();
  log(`agent RSS with ${SCALE} plugged ports: ${rss.toFixed(1)} MB`);
  const singleRatio = median(ours.singleMs) / median(builtin.singleMs);
  const bulkRatio = ours.bulkMs / builtin.bulkMs;
  log(
    `plug single_p50_ratio=${singleRatio.toFixed(3)} bulk1000_ratio=${bulkRatio.toFixed(3)} plan10k_ms=${steadyMs.toFixed(2)} rss10k_mb=${rss.toFixed(1)}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
