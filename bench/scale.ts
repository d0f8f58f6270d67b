/**
 * `npm run bench:scale [-- --quick] [-- --only=foreign|sb|plug] [-- --backends=standalone,raft,relay]`
 * — what the agent costs at scale (DESIGN §4, issue 12 part 1), on real servers:
 *
 * - foreign: agent RSS with an SB holding only its own chassis and 10 of its own port bindings,
 *   against a fresh agent once the SB also holds the bindings of `chassis` other chassis
 *   (conditional monitoring keeps them out) → `foreign_rss_ratio`.
 * - sb: SB server CPU time (utime + stime of /proc/<pid>/stat, summed over the server processes
 *   that serve the monitors) and RSS while N = 10, 100, 1,000 monitors are connected and a stream
 *   of Port_Binding updates (`up` toggled on random bindings of all chassis) runs, for
 *   agent-shaped monitors (our OvsdbClient, exactly the agent's SB tables, columns and condition,
 *   one per simulated chassis, many per process) and ovn-controller-shaped monitors (the requests a
 *   real ovn-controller sent, captured in test/fixtures/ovn-controller-sb-monitor/ and rewritten
 *   per chassis), against a standalone SB, a 3-member Raft cluster and an ovsdb relay in front of
 *   that cluster. Per-monitor CPU = (window CPU with N monitors − window CPU with none) / N
 *   → `sb_cpu_ratio` = agent / ovn-controller per monitor at the largest N (worst backend).
 * - plug: single-port plug latency (NB commit → Port_Binding.up) on a node that already has
 *   10,000 plugged ports, agent + ovn-controller vs ovn-controller's built-in dummy plugging, both
 *   at 10,000, samples paired in time → `single_at10k_ratio`; the agent's own time from the SB
 *   server sending it the new binding to the OVS server's reply to its transaction (jsonrpc debug
 *   logs of both servers, ms stamps, ADR 0084's method) → `agent_change_ms`; agent RSS there
 *   → `rss10k_mb`.
 *
 * The node part's fill runs while the foreign and SB parts measure (`--sequential`: after them).
 * Needs an open-files limit above the number of connections (the npm script raises it).
 * Last line: scale foreign_rss_ratio=<x> sb_cpu_ratio=<x> single_at10k_ratio=<x> agent_change_ms=<x> rss10k_mb=<x>
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { PORT_BINDING_COLUMNS } from '../src/agent/main.js';
import { OvsdbClient, parseRemote, RpcConnection, where, ZERO_UUID } from '../src/ovsdb/index.js';
import {
  OVN_SB_SCHEMA,
  startOvsdbRelay,
  startOvsdbServer,
  startRaftCluster,
  startSandbox,
  VSWITCH_SCHEMA,
  waitUntil,
  type OvsdbServer,
  type RaftCluster,
  type Sandbox,
} from '../test/harness/index.js';
import {
  agentRuntime,
  BUILD_DIR,
  buildTopology,
  chassisName,
  compileAgent,
  datapathsOfChassis,
  initBareOvsDb,
  linearFit,
  median,
  MONITOR_FIXTURE,
  monitorForChassis,
  monitorInEffect,
  monitorRequestTables,
  ownOpenFilesLimit,
  parseJsonrpcLog,
  parseMonitorCaptureFixture,
  portsInState,
  Probe,
  processCpuSeconds,
  processRssBytes,
  startAgentProcess,
  trimmedMean,
  type AgentProcess,
  type AgentRuntime,
  type MonitorCaptureFixture,
  type MonitorTables,
  type Topology,
} from './support/index.js';

interface Profile {
  readonly name: 'full' | 'quick';
  /** The SB of the foreign-bindings RSS figure (and of the connect cost at that size). */
  readonly chassis: number;
  readonly portsPerChassis: number;
  /** The SB of the per-N cost figures (one simulated chassis per monitor, so ≥ the largest N). */
  readonly sbChassis: number;
  readonly sbPortsPerChassis: number;
  /** Monitors per shape connected to the big (foreign) SB to show the connect cost there. */
  readonly bigSbMonitors: number;
  readonly monitorCounts: readonly number[];
  readonly windowMs: number;
  /** Port_Binding rows updated per second, in 10 transactions per second. */
  readonly updatesPerSecond: number;
  readonly nodePorts: number;
  /** The node's logical ports per logical switch (ovn-controller's cost depends on it). */
  readonly nodePortsPerSwitch: number | undefined;
  readonly singleRuns: number;
  readonly settleMs: number;
}

const FULL: Profile = {
  name: 'full',
  chassis: 1000,
  portsPerChassis: 100,
  sbChassis: 1000,
  sbPortsPerChassis: 10,
  bigSbMonitors: 10,
  monitorCounts: [10, 100, 1000],
  windowMs: 4000,
  updatesPerSecond: 1000,
  nodePorts: 10_000,
  nodePortsPerSwitch: 100,
  // One sample takes 10–16 s at this size (ovs-vswitchd reconfiguring its bridge) on both nodes;
  // the full run has 15 minutes.
  singleRuns: 7,
  settleMs: 8000,
};

const QUICK: Profile = {
  name: 'quick',
  chassis: 50,
  portsPerChassis: 20,
  sbChassis: 50,
  sbPortsPerChassis: 4,
  bigSbMonitors: 5,
  monitorCounts: [5, 20, 50],
  windowMs: 2000,
  updatesPerSecond: 200,
  nodePorts: 300,
  nodePortsPerSwitch: 100,
  singleRuns: 5,
  settleMs: 2000,
};

const OWN_PORTS = 10;
const AGENT_CHASSIS = 'hv-agent';
const CONNECT_PARALLEL = 50;

function log(line: string): void {
  console.log(line);
}

const runStarted = performance.now();

/** A section's heading, with the run's elapsed time (the full run has a 15-minute budget). */
function section(title: string): void {
  const s = Math.round((performance.now() - runStarted) / 1000);
  log(`${title} [at ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}]`);
}

function arg(name: string): string | undefined {
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A promise's outcome, held without an unhandled rejection until someone looks. */
type Settled<T> = { readonly value: T } | { readonly error: unknown };

function settled<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

function fromSettled<T>(outcome: Settled<T>): T {
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

// ---------------------------------------------------------------------------------------------
// Southbound content

/** UUIDs of what {@link populate} inserted. */
interface SbContent {
  readonly topology: Topology;
  readonly chassisUuids: readonly string[];
  readonly datapathUuids: readonly string[];
  readonly portUuids: readonly string[];
}

async function rawTransact(conn: RpcConnection, ops: readonly object[]): Promise<Record<string, unknown>[]> {
  const result = await conn.request<Record<string, unknown>[]>('transact', ['OVN_Southbound', ...ops], {
    timeoutMs: 600_000,
  });
  const failed = result.findIndex((r) => r !== null && typeof r === 'object' && 'error' in r);
  if (failed >= 0)
    throw new Error(
      `SB transaction failed at op ${failed}: ${JSON.stringify(result[failed])} for ${JSON.stringify(ops[failed])}`,
    );
  return result;
}

function uuidOf(result: Record<string, unknown> | undefined): string {
  const uuid = result?.['uuid'];
  if (!Array.isArray(uuid) || typeof uuid[1] !== 'string')
    throw new Error(`no uuid in ${JSON.stringify(result)}`);
  return uuid[1];
}

/** Chassis (with their Encap), datapaths and bound VIF port bindings, straight into the SB. */
async function populate(remote: string, topology: Topology, keyBase: number): Promise<SbContent> {
  const started = performance.now();
  const conn = await RpcConnection.open(parseRemote(remote), { probeIntervalMs: 0 });
  try {
    const chassisOps: object[] = [];
    for (let c = 0; c < topology.chassis; c++) {
      chassisOps.push(
        {
          op: 'insert',
          table: 'Encap',
          'uuid-name': `e${c}`,
          row: {
            type: 'geneve',
            ip: `10.${(c >> 8) & 255}.${c & 255}.${keyBase}`,
            chassis_name: chassisName(c),
          },
        },
        {
          op: 'insert',
          table: 'Chassis',
          row: { name: chassisName(c), hostname: chassisName(c), encaps: ['named-uuid', `e${c}`] },
        },
      );
    }
    for (let d = 0; d < topology.datapaths; d++) {
      chassisOps.push({
        op: 'insert',
        table: 'Datapath_Binding',
        row: { tunnel_key: keyBase + d, external_ids: ['map', [['name', `sw${d}`]]] },
      });
    }
    const first = await rawTransact(conn, chassisOps);
    const chassisUuids = Array.from({ length: topology.chassis }, (_, c) => uuidOf(first[2 * c + 1]));
    const datapathUuids = Array.from({ length: topology.datapaths }, (_, d) =>
      uuidOf(first[2 * topology.chassis + d]),
    );
    const portUuids: string[] = [];
    const BATCH = 10_000;
    for (let base = 0; base < topology.ports.length; base += BATCH) {
      const ops = topology.ports.slice(base, base + BATCH).map((p, i) => ({
        op: 'insert',
        table: 'Port_Binding',
        row: {
          logical_port: p.name,
          datapath: ['uuid', datapathUuids[p.datapath]],
          tunnel_key: p.tunnelKey,
          mac: `0a:00:00:${hex((base + i) >> 16)}:${hex(((base + i) >> 8) & 255)}:${hex((base + i) & 255)}`,
          options: [
            'map',
            [
              ['requested-chassis', chassisName(p.chassis)],
              ['vif-plug-type', 'dummy'],
            ],
          ],
          requested_chassis: ['uuid', chassisUuids[p.chassis]],
          chassis: ['uuid', chassisUuids[p.chassis]],
          up: true,
        },
      }));
      for (const r of await rawTransact(conn, ops)) portUuids.push(uuidOf(r));
    }
    log(
      `  SB filled: ${topology.chassis} chassis, ${topology.datapaths} datapaths, ${topology.ports.length} port bindings in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return { topology, chassisUuids, datapathUuids, portUuids };
  } finally {
    conn.close();
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * Toggles `up` of random port bindings (all chassis alike): every 100 ms one transaction with a
 * tenth of the per-second rate. A tick whose predecessor has not been answered is skipped and
 * counted, so the stream never queues up behind a slow server.
 */
class UpdateStream {
  #conn: RpcConnection | undefined;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #seed = 12345;
  readonly #up: Uint8Array;
  updated = 0;
  skipped = 0;
  /** While paused no transaction is sent (connect phases measure connecting alone). */
  paused = false;

  constructor(
    private readonly remote: string,
    private readonly portUuids: readonly string[],
    private readonly perSecond: number,
  ) {
    this.#up = new Uint8Array(portUuids.length).fill(1);
  }

  async start(): Promise<void> {
    this.#conn = await RpcConnection.open(parseRemote(this.remote), { probeIntervalMs: 0 });
    const perTick = Math.max(1, Math.round(this.perSecond / 10));
    this.#timer = setInterval(() => {
      if (this.paused) return;
      if (this.#busy) {
        this.skipped++;
        return;
      }
      const ops: object[] = [];
      for (let k = 0; k < perTick; k++) {
        const i = this.#next() % this.portUuids.length;
        this.#up[i] = this.#up[i] === 1 ? 0 : 1;
        ops.push({
          op: 'update',
          table: 'Port_Binding',
          where: [['_uuid', '==', ['uuid', this.portUuids[i]]]],
          row: { up: this.#up[i] === 1 },
        });
      }
      this.#busy = true;
      const conn = this.#conn;
      if (conn === undefined) return;
      rawTransact(conn, ops).then(
        () => {
          this.updated += ops.length;
          this.#busy = false;
        },
        (error: unknown) => {
          this.#busy = false;
          console.error(`update stream: ${String(error)}`);
        },
      );
    }, 100);
  }

  /** A small LCG: the same sequence every run. */
  #next(): number {
    this.#seed = (Math.imul(this.#seed, 1103515245) + 12345) >>> 0;
    return this.#seed >>> 8;
  }

  /** Pauses and resolves once the transaction in flight (if any) is answered. */
  async pause(): Promise<void> {
    this.paused = true;
    await waitUntil(() => !this.#busy, { description: 'the update in flight', timeoutMs: 120_000 });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#conn?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Monitors

interface Monitor {
  close(): Promise<void>;
}

/**
 * `--agent-variant=` (experiments for docs/scale.md, not the shipped agent): `no-rows` keeps the
 * Port_Binding condition `false` (the cost of merely monitoring the table), `no-status-columns`
 * leaves out `up` and `chassis` (the columns ovn-controller rewrites most).
 */
function agentVariant(): 'as-shipped' | 'no-rows' | 'no-status-columns' {
  const v = arg('agent-variant') ?? 'as-shipped';
  if (v !== 'as-shipped' && v !== 'no-rows' && v !== 'no-status-columns')
    throw new Error(`--agent-variant: unknown ${JSON.stringify(v)} (as-shipped, no-rows, no-status-columns)`);
  return v;
}

/** Monitor connections lost (and, for our client, re-established) other than by closing them. */
const drops = { count: 0 };

/**
 * The agent's SB client for chassis `c` (src/agent/main.ts: Chassis by name, Port_Binding with
 * the agent's columns and no rows until the chassis is known), then the condition the reconciler
 * sets once it sees its Chassis row (src/agent/reconciler.ts #trackChassis).
 */
async function agentMonitor(remotes: string, c: number): Promise<Monitor> {
  const variant = agentVariant();
  const columns =
    variant === 'no-status-columns'
      ? PORT_BINDING_COLUMNS.filter((col) => col !== 'up' && col !== 'chassis')
      : PORT_BINDING_COLUMNS;
  const client = new OvsdbClient({
    remotes,
    database: 'OVN_Southbound',
    leaderOnly: false,
    // The servers still probe every connection; our own probes are off so that this one busy
    // process cannot drop servers (and cause resync storms) while it handles 1,000 monitors.
    probeIntervalMs: 0,
    tables: {
      Chassis: { columns: ['name'], where: [where('name', '==', chassisName(c))] },
      Port_Binding: { columns, where: false },
    },
    timeouts: { initialSyncMs: 600_000, requestMs: 600_000 },
  });
  let connected = false;
  client.on('reconnect', () => {
    if (connected) drops.count++;
    connected = true;
  });
  client.start();
  try {
    await client.ready();
    const uuid = await waitUntil(() => client.table('Chassis').all()[0]?._uuid, {
      description: `Chassis ${chassisName(c)} in the agent monitor`,
      timeoutMs: 120_000,
    });
    if (variant !== 'no-rows') {
      const seqno = client.setCondition('Port_Binding', [
        where('requested_chassis', '==', uuid),
        where('requested_additional_chassis', 'includes', [uuid]),
      ]);
      await client.waitForConditionSeqno(seqno);
    }
  } catch (error) {
    await client.close();
    throw error;
  }
  return { close: () => client.close() };
}

/**
 * ovn-controller's SB monitor for chassis `c`, replayed on a raw connection: the captured
 * `_Server` monitor, `set_db_change_aware`, then `monitor_cond_since` with the captured tables and
 * columns and the conditions in effect at the end of the capture, rewritten for `c`'s chassis,
 * local datapaths and ports. (ovn-controller reaches these conditions through one or two
 * `monitor_cond_change` round trips after connecting; the steady state is the same.) Echo
 * requests are answered by the connection; updates are read and dropped.
 */
async function controllerMonitor(
  remote: string,
  capture: MonitorCaptureFixture,
  tables: MonitorTables,
  content: SbContent,
  c: number,
): Promise<Monitor> {
  const topology = content.topology;
  const replay = monitorForChassis(tables, capture.identity, {
    chassisName: chassisName(c),
    chassisUuid: content.chassisUuids[c] ?? '',
    datapathUuids: datapathsOfChassis(topology, c).map((d) => content.datapathUuids[d] ?? ''),
    logicalPorts: topology.ports.filter((p) => p.chassis === c).map((p) => p.name),
  });
  const state = { closing: false };
  const conn = await RpcConnection.open(parseRemote(remote), {
    probeIntervalMs: 0,
    onClose: () => {
      if (!state.closing) drops.count++;
    },
  });
  try {
    const server = capture.requests.find(
      (r) => r.method === 'monitor_cond' && Array.isArray(r.params) && r.params[0] === '_Server',
    );
    if (server !== undefined && Array.isArray(server.params))
      await conn.request('monitor_cond', server.params, { timeoutMs: 600_000 });
    await conn.request('set_db_change_aware', [true], { timeoutMs: 600_000 });
    await conn.request(
      'monitor_cond_since',
      [capture.database, ['monid', capture.database], monitorRequestTables(replay), ZERO_UUID],
      { timeoutMs: 600_000 },
    );
  } catch (error) {
    conn.close();
    throw error;
  }
  return {
    close: () => {
      state.closing = true;
      conn.close();
      return Promise.resolve();
    },
  };
}

/** A raw connection the server dropped while it was overloaded is opened again (and counted). */
async function withRetry(connect: () => Promise<Monitor>): Promise<Monitor> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      if (attempt >= 3) throw error;
      drops.count++;
    }
  }
}

async function inBatches<T>(count: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let base = 0; base < count; base += CONNECT_PARALLEL) {
    const n = Math.min(CONNECT_PARALLEL, count - base);
    out.push(...(await Promise.all(Array.from({ length: n }, (_, k) => make(base + k)))));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SB cost per backend

interface Backend {
  readonly name: string;
  /** Remote(s) monitors connect to (comma list for a cluster). */
  readonly monitorRemotes: string;
  /** One remote per monitor (raw connections pick one; OvsdbClient shuffles the list itself). */
  readonly remoteFor: (i: number) => string;
  /** Where the update stream writes. */
  readonly writeRemote: string;
  /** Processes that serve the monitors: their CPU and RSS are the figures. */
  readonly servingPids: () => number[];
  /** Other server processes (relay's upstream), reported beside. */
  readonly upstreamPids: () => number[];
}

async function cpuOf(pids: readonly number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) sum += await processCpuSeconds(pid);
  return sum;
}

async function rssOf(pids: readonly number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) sum += await processRssBytes(pid);
  return sum;
}

/** CPU of the serving and upstream processes over one window of the update stream. */
interface WindowCpu {
  /** ms of CPU per 1,000 updated rows. */
  readonly serving: number;
  readonly upstream: number;
  readonly rows: number;
}

async function window(backend: Backend, profile: Profile, stream: UpdateStream): Promise<WindowCpu> {
  const s0 = await cpuOf(backend.servingPids());
  const u0 = await cpuOf(backend.upstreamPids());
  const r0 = stream.updated;
  await sleep(profile.windowMs);
  const rows = stream.updated - r0;
  if (rows === 0)
    throw new Error(`${backend.name}: no row was updated during a ${profile.windowMs} ms window`);
  return {
    serving: (((await cpuOf(backend.servingPids())) - s0) * 1e6) / rows,
    upstream: (((await cpuOf(backend.upstreamPids())) - u0) * 1e6) / rows,
    rows,
  };
}

interface ShapeFigures {
  readonly n: number;
  /** SB CPU (serving processes) to connect and sync one monitor, stream paused. */
  readonly connectCpuPerMonitorMs: number;
  /** SB CPU per monitor per 1,000 updated rows, above the no-monitor baseline. */
  readonly streamCpuPerMonitorMs: number;
  readonly rssPerMonitorKb: number;
  readonly upstreamCpuPerMonitorMs: number;
}

async function measureShape(
  backend: Backend,
  profile: Profile,
  stream: UpdateStream,
  shape: 'agent' | 'ovn-controller',
  connect: (i: number) => Promise<Monitor>,
  baseline: WindowCpu & { readonly rss: number },
): Promise<ShapeFigures[]> {
  const monitors: Monitor[] = [];
  const figures: ShapeFigures[] = [];
  const dropsBefore = drops.count;
  try {
    for (const n of profile.monitorCounts) {
      await stream.pause();
      const before = await cpuOf(backend.servingPids());
      const t0 = performance.now();
      const added = n - monitors.length;
      monitors.push(...(await inBatches(added, (k) => connect(monitors.length + k))));
      await sleep(500);
      const connectCpu = (await cpuOf(backend.servingPids())) - before;
      const connectS = (performance.now() - t0) / 1000;
      const rss = await rssOf(backend.servingPids());
      stream.paused = false;
      await sleep(1000);
      const w = await window(backend, profile, stream);
      const f: ShapeFigures = {
        n,
        connectCpuPerMonitorMs: (connectCpu * 1000) / added,
        streamCpuPerMonitorMs: (w.serving - baseline.serving) / n,
        rssPerMonitorKb: (rss - baseline.rss) / 1024 / n,
        upstreamCpuPerMonitorMs: (w.upstream - baseline.upstream) / n,
      };
      figures.push(f);
      log(
        `  ${backend.name} ${shape.padEnd(14)} N=${String(n).padStart(4)}: connect+sync ${connectS.toFixed(1)} s, ${f.connectCpuPerMonitorMs.toFixed(2)} ms CPU/monitor; ` +
          `stream ${w.rows} rows: ${w.serving.toFixed(1)} ms CPU per 1,000 rows (baseline ${baseline.serving.toFixed(1)}) → ${f.streamCpuPerMonitorMs.toFixed(4)} ms/monitor; ` +
          `server RSS ${mb(rss).toFixed(1)} MB → ${f.rssPerMonitorKb.toFixed(1)} KiB/monitor` +
          (backend.upstreamPids().length > 0 ? `; upstream ${w.upstream.toFixed(1)} ms per 1,000 rows` : ''),
      );
    }
  } finally {
    await stream.pause();
    await Promise.all(monitors.map((m) => m.close()));
    stream.paused = false;
  }
  if (drops.count > dropsBefore)
    log(
      `  WARNING: ${drops.count - dropsBefore} ${shape} monitor connections were lost during the run: figures include resyncs`,
    );
  return figures;
}

function linearity(label: string, figures: readonly ShapeFigures[]): string {
  // Total stream CPU against N: linear means a straight line (constant per-monitor cost).
  const points = figures.map((f) => [f.n, f.streamCpuPerMonitorMs * f.n] as const);
  if (points.length < 2) return `${label}: one N only`;
  const fit = linearFit(points);
  const perN = figures.map((f) => `N=${f.n}: ${f.streamCpuPerMonitorMs.toFixed(4)}`).join(', ');
  return `${label}: per-monitor stream CPU (ms per 1,000 rows) ${perN}; total ≈ ${fit.slope.toFixed(4)} × N + ${fit.intercept.toFixed(2)}, largest deviation from that line ${(fit.maxDeviation * 100).toFixed(0)} %`;
}

interface BackendResult {
  readonly backend: string;
  readonly agent: ShapeFigures[];
  readonly controller: ShapeFigures[];
}

async function measureBackend(
  backend: Backend,
  profile: Profile,
  content: SbContent,
  capture: MonitorCaptureFixture,
  tables: MonitorTables,
): Promise<BackendResult> {
  const stream = new UpdateStream(backend.writeRemote, content.portUuids, profile.updatesPerSecond);
  await stream.start();
  try {
    await sleep(1000);
    const measureBaseline = async (): Promise<WindowCpu & { rss: number }> => {
      const w = await window(backend, profile, stream);
      log(
        `  ${backend.name} no monitors: stream ${w.rows} rows: ${w.serving.toFixed(1)} ms CPU per 1,000 rows, server RSS ${mb(await rssOf(backend.servingPids())).toFixed(1)} MB`,
      );
      return { ...w, rss: await rssOf(backend.servingPids()) };
    };
    const base1 = await measureBaseline();
    const shapes = (arg('shapes') ?? 'agent,ovn-controller').split(',');
    const agent = !shapes.includes('agent')
      ? []
      : await measureShape(
          backend,
          profile,
          stream,
          'agent',
          (i) => agentMonitor(backend.monitorRemotes, i),
          base1,
        );
    await sleep(1000);
    const base2 = await measureBaseline();
    const controller = !shapes.includes('ovn-controller')
      ? []
      : await measureShape(
          backend,
          profile,
          stream,
          'ovn-controller',
          (i) => withRetry(() => controllerMonitor(backend.remoteFor(i), capture, tables, content, i)),
          base2,
        );
    log(`  ${linearity(`${backend.name} agent`, agent)}`);
    log(`  ${linearity(`${backend.name} ovn-controller`, controller)}`);
    log(
      `  ${backend.name} update stream: ${stream.updated} rows updated, ${stream.skipped} ticks skipped (server busy)`,
    );
    return { backend: backend.name, agent, controller };
  } finally {
    stream.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Foreign bindings and agent RSS

async function settledRss(pid: number, settleMs: number): Promise<number> {
  await sleep(settleMs);
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push(await processRssBytes(pid));
    await sleep(1000);
  }
  return median(samples);
}

/** The agent's own chassis, one switch and OWN_PORTS bindings requested for it. */
async function populateAgentChassis(remote: string): Promise<void> {
  const conn = await RpcConnection.open(parseRemote(remote), { probeIntervalMs: 0 });
  try {
    const ops: object[] = [
      {
        op: 'insert',
        table: 'Encap',
        'uuid-name': 'e',
        row: { type: 'geneve', ip: '192.0.2.1', chassis_name: AGENT_CHASSIS },
      },
      {
        op: 'insert',
        table: 'Chassis',
        'uuid-name': 'c',
        row: { name: AGENT_CHASSIS, hostname: AGENT_CHASSIS, encaps: ['named-uuid', 'e'] },
      },
      {
        op: 'insert',
        table: 'Datapath_Binding',
        'uuid-name': 'd',
        row: { tunnel_key: 16_000_000, external_ids: ['map', [['name', 'sw-agent']]] },
      },
    ];
    for (let i = 0; i < OWN_PORTS; i++)
      ops.push({
        op: 'insert',
        table: 'Port_Binding',
        row: {
          logical_port: `own-${i}`,
          datapath: ['named-uuid', 'd'],
          tunnel_key: i + 1,
          options: [
            'map',
            [
              ['requested-chassis', AGENT_CHASSIS],
              ['vif-plug-type', 'dummy'],
            ],
          ],
          requested_chassis: ['named-uuid', 'c'],
        },
      });
    await rawTransact(conn, ops);
  } finally {
    conn.close();
  }
}

interface Context {
  readonly profile: Profile;
  readonly runtime: AgentRuntime;
  readonly entry: string;
}

async function startAgentOn(
  ctx: Context,
  ovsDb: string,
  extra: string[] = [],
  logFile?: string,
): Promise<AgentProcess> {
  return startAgentProcess({
    runtime: ctx.runtime,
    entry: ctx.entry,
    ovsDb,
    extraArgs: extra,
    ...(logFile === undefined ? {} : { logFile }),
  });
}

/**
 * Agent RSS on an SB with only its own chassis, then the foreign bindings are added (the same
 * agent's RSS after that is printed), then a fresh agent on the full SB. Leaves `sb` populated.
 */
async function measureForeign(
  ctx: Context,
  sb: OvsdbServer,
  topology: Topology,
): Promise<{ ratio: number; content: SbContent }> {
  const sbRemote = sb.tcpRemote ?? sb.remote;
  await populateAgentChassis(sbRemote);
  const ovsDb = await startOvsdbServer({ schema: VSWITCH_SCHEMA, name: 'ovs-foreign', remotes: ['punix'] });
  try {
    await initBareOvsDb(ovsDb, AGENT_CHASSIS, sbRemote);
    const ovsRemote = ovsDb.unixRemote ?? ovsDb.remote;
    const plugged = async (agent: AgentProcess): Promise<void> => {
      await waitUntil(async () => (await portsInState(agent.url, 'Plugged')) === OWN_PORTS, {
        description: `${OWN_PORTS} own ports Plugged`,
        timeoutMs: 60_000,
        maxIntervalMs: 200,
      });
    };
    let agent = await startAgentOn(ctx, ovsRemote);
    let content: SbContent;
    let emptyRss: number;
    let runningRss: number;
    try {
      await plugged(agent);
      emptyRss = await settledRss(agent.pid, ctx.profile.settleMs);
      log(`  agent RSS, SB with only its own chassis and ${OWN_PORTS} ports: ${mb(emptyRss).toFixed(1)} MB`);
      content = await populate(sbRemote, topology, 1);
      runningRss = await settledRss(agent.pid, ctx.profile.settleMs);
      log(
        `  the same agent after ${topology.ports.length} foreign bindings were added: ${mb(runningRss).toFixed(1)} MB`,
      );
    } finally {
      await agent.stop();
    }
    agent = await startAgentOn(ctx, ovsRemote);
    try {
      await plugged(agent);
      const fullRss = await settledRss(agent.pid, ctx.profile.settleMs);
      log(
        `  fresh agent, SB with ${topology.ports.length} foreign bindings of ${topology.chassis} chassis: ${mb(fullRss).toFixed(1)} MB`,
      );
      return { ratio: fullRss / emptyRss, content };
    } finally {
      await agent.stop();
    }
  } finally {
    await ovsDb.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Plug latency on a node with many ports

interface NodeSetup {
  readonly label: 'builtin' | 'agent';
  readonly sandbox: Sandbox;
  readonly agent: AgentProcess | undefined;
  readonly probe: Probe;
}

async function fillNode(setup: NodeSetup, count: number): Promise<string> {
  const t0 = performance.now();
  // One NB transaction by default: ovs-vswitchd's and ovn-controller's work per change grows with
  // the ports already there, so fewer, larger changes fill faster (10,000 ports: ~5 min against ~6
  // in transactions of 1,000).
  const BATCH = Number(arg('fill-batch') ?? count);
  for (let base = 0; base < count; base += BATCH) {
    const names = Array.from(
      { length: Math.min(BATCH, count - base) },
      (_, i) => `${setup.label}-n${base + i}`,
    );
    await setup.probe.addPorts(names, 'hv1', base);
    await setup.probe.waitUp(names, 900_000);
  }
  return `  ${setup.label}: ${count} ports up in ${((performance.now() - t0) / 1000).toFixed(0)} s`;
}

async function startNode(ctx: Context, builtin: boolean): Promise<NodeSetup> {
  const sandbox = await startSandbox({ chassis: ['hv1'], enableDummyVifPlug: builtin });
  const probe = new Probe(
    sandbox.central,
    ctx.profile.nodePortsPerSwitch === undefined ? {} : { portsPerSwitch: ctx.profile.nodePortsPerSwitch },
  );
  let agent: AgentProcess | undefined;
  try {
    if (!builtin) agent = await startAgentOn(ctx, sandbox.node('hv1').ovs.dbRemote);
    await probe.start();
    return { label: builtin ? 'builtin' : 'agent', sandbox, agent, probe };
  } catch (error) {
    await probe.close();
    await agent?.stop();
    await sandbox.stop();
    throw error;
  }
}

async function stopNode(setup: NodeSetup): Promise<void> {
  await setup.probe.close();
  await setup.agent?.stop();
  await setup.sandbox.stop();
}

/**
 * For each sampled port: SB server sends the agent's connection the update naming the port →
 * OVS server sends the reply to the agent's transaction that creates its interface. The agent's
 * SB connection is the one whose update for the port carries `requested_chassis` but no
 * `tunnel_key` (ovn-controller and northd monitor tunnel_key, the probe neither).
 */
interface ChangeHop {
  /** SB server sends the update → OVS server replies to the agent's transaction. */
  readonly totalMs: number;
  /** SB server sends the update → OVS server receives the transaction: the agent's own part. */
  readonly agentMs: number;
}

async function agentChangeMs(setup: NodeSetup, names: readonly string[]): Promise<ChangeHop[]> {
  const sbLog = parseJsonrpcLog(await readFile(setup.sandbox.central.sb?.logPath ?? '', 'utf8'));
  const ovsLog = parseJsonrpcLog(await readFile(setup.sandbox.node('hv1').ovs.ovsdb.logPath, 'utf8'));
  const out: ChangeHop[] = [];
  for (const name of names) {
    const quoted = JSON.stringify(name);
    const sent = sbLog.find((e) => {
      if (e.direction !== 'send' || e.method !== 'update3') return false;
      const text = JSON.stringify(e.params);
      return text.includes(quoted) && text.includes('"requested_chassis"') && !text.includes('"tunnel_key"');
    });
    const request = ovsLog.find(
      (e) =>
        e.direction === 'received' &&
        e.method === 'transact' &&
        JSON.stringify(e.params).includes(`["iface-id",${quoted}]`),
    );
    const reply =
      request === undefined
        ? undefined
        : ovsLog.find(
            (e) =>
              e.direction === 'send' &&
              e.kind === 'reply' &&
              e.connection === request.connection &&
              JSON.stringify(e.id) === JSON.stringify(request.id) &&
              e.timeMs >= request.timeMs,
          );
    if (sent !== undefined && request !== undefined && reply !== undefined)
      out.push({ totalMs: reply.timeMs - sent.timeMs, agentMs: request.timeMs - sent.timeMs });
  }
  return out;
}

interface FilledNodes {
  readonly builtin: NodeSetup;
  readonly ours: NodeSetup;
  /** What the fill printed, shown in the node part's section. */
  readonly lines: readonly string[];
}

/** Both nodes, started and filled at once (half the wall time of one after the other). */
async function filledNodes(ctx: Context): Promise<FilledNodes> {
  const builtin = await startNode(ctx, true);
  let ours: NodeSetup | undefined;
  try {
    ours = await startNode(ctx, false);
    const lines = await Promise.all([
      fillNode(builtin, ctx.profile.nodePorts),
      fillNode(ours, ctx.profile.nodePorts),
    ]);
    return { builtin, ours, lines };
  } catch (error) {
    if (ours !== undefined) await stopNode(ours);
    await stopNode(builtin);
    throw error;
  }
}

/** Samples the filled nodes, then stops them. */
async function measureNodeAtScale(
  ctx: Context,
  { builtin, ours, lines }: FilledNodes,
): Promise<{ ratio: number; changeMs: number; rssMb: number }> {
  const { profile } = ctx;
  for (const line of lines) log(line);
  try {
    try {
      const agentPid = ours.agent?.pid ?? 0;
      for (const setup of [builtin, ours]) {
        await setup.sandbox.central.sb?.appctl('vlog/set', 'jsonrpc:file:dbg');
        await setup.sandbox.node('hv1').ovs.ovsdb.appctl('vlog/set', 'jsonrpc:file:dbg');
      }
      await sleep(2000);
      const single = { builtin: [] as number[], agent: [] as number[] };
      const sampled: string[] = [];
      const switches = Math.max(
        1,
        Math.floor(profile.nodePorts / (profile.nodePortsPerSwitch ?? profile.nodePorts)),
      );
      // Both nodes get their port at the same moment (ADR 0100): at this size one sample takes
      // seconds of ovs-vswitchd's single-threaded work on either node, so pairs in time halve the
      // run and both series still see the same load.
      for (let i = 0; i < profile.singleRuns; i++) {
        await Promise.all(
          [builtin, ours].map(async (setup) => {
            const name = `${setup.label}-s${i}`;
            // On a switch the fill made: a new switch would be a new datapath for northd and
            // ovn-controller, and the first sample would measure that.
            const t0 = await setup.probe.addPorts([name], 'hv1', profile.nodePorts + i, i % switches);
            single[setup.label].push((await setup.probe.waitUp([name])) - t0);
            if (setup === ours) sampled.push(name);
          }),
        );
        await sleep(200);
      }
      for (const setup of [builtin, ours]) {
        await setup.sandbox.central.sb?.appctl('vlog/set', 'jsonrpc:file:info');
        await setup.sandbox.node('hv1').ovs.ovsdb.appctl('vlog/set', 'jsonrpc:file:info');
      }
      const p50 = { builtin: median(single.builtin), agent: median(single.agent) };
      log(
        `  single port at ${profile.nodePorts}: builtin p50 ${p50.builtin.toFixed(1)} ms, agent p50 ${p50.agent.toFixed(1)} ms (n=${profile.singleRuns} each, paired in time); paired difference median ${median(single.agent.map((v, i) => v - (single.builtin[i] ?? Number.NaN))).toFixed(2)} ms`,
      );
      const changes = await agentChangeMs(ours, sampled);
      if (changes.length === 0) throw new Error('no agent SB→OVS hop found in the jsonrpc debug logs');
      // The fastest and slowest of 7 dropped (the first sample after the fill is often an outlier).
      const trimmed = (values: readonly number[]): number => trimmedMean(values, 0.15);
      const totals = changes.map((c) => c.totalMs);
      const agentParts = changes.map((c) => c.agentMs);
      const changeMs = trimmed(totals);
      log(
        `  agent SB update → OVS commit (server log stamps, ms-truncated): ${totals.join(', ')} ms; trimmed mean ${changeMs.toFixed(2)} ms (${changes.length}/${sampled.length} found)`,
      );
      log(
        `    of which SB update sent → agent's transaction received by the OVS server: ${agentParts.join(', ')} ms; trimmed mean ${trimmed(agentParts).toFixed(2)} ms (the rest is the OVS server's commit)`,
      );
      const status = (await (await fetch(`${ours.agent?.url ?? ''}/status`)).json()) as {
        ports: { logicalPort: string; plugLatencyMs?: number }[];
      };
      const own = status.ports
        .filter((p) => sampled.includes(p.logicalPort) && p.plugLatencyMs !== undefined)
        .map((p) => p.plugLatencyMs ?? 0);
      if (own.length > 0)
        log(
          `  agent's own /status plugLatencyMs (first sighting → Plugged) of those ports: median ${median(own).toFixed(1)} ms`,
        );
      const rss = await settledRss(agentPid, profile.settleMs);
      log(
        `  agent RSS with ${profile.nodePorts} plugged ports (Bound, real ovs-vswitchd): ${mb(rss).toFixed(1)} MB`,
      );
      return { ratio: p50.agent / p50.builtin, changeMs, rssMb: mb(rss) };
    } finally {
      await stopNode(ours);
    }
  } finally {
    await stopNode(builtin);
  }
}

// ---------------------------------------------------------------------------------------------

function describe(t: Topology): string {
  return `${t.chassis} chassis × ${t.portsPerChassis} bound port bindings = ${t.ports.length} bindings on ${t.datapaths} logical switches (10 chassis share 10 switches)`;
}

/** `--chassis=`, `--ports-per-chassis=`, `--sb-chassis=`, `--sb-ports-per-chassis=`, `--big-sb-monitors=`, `--monitors=a,b,c`, `--window-s=`, `--rate=`, `--node-ports=`, `--single-runs=`. */
function withOverrides(base: Profile): Profile {
  const int = (name: string, value: number): number => {
    const text = arg(name);
    if (text === undefined) return value;
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0)
      throw new Error(`--${name}: expected a positive integer, got ${JSON.stringify(text)}`);
    return n;
  };
  const monitors = arg('monitors');
  const counts =
    monitors === undefined
      ? base.monitorCounts
      : monitors.split(',').map((t) => {
          const n = Number(t);
          if (!Number.isInteger(n) || n <= 0)
            throw new Error(`--monitors: expected positive integers, got ${JSON.stringify(t)}`);
          return n;
        });
  return {
    ...base,
    chassis: int('chassis', base.chassis),
    portsPerChassis: int('ports-per-chassis', base.portsPerChassis),
    sbChassis: int('sb-chassis', base.sbChassis),
    sbPortsPerChassis: int('sb-ports-per-chassis', base.sbPortsPerChassis),
    bigSbMonitors: int('big-sb-monitors', base.bigSbMonitors),
    monitorCounts: counts,
    windowMs: int('window-s', base.windowMs / 1000) * 1000,
    updatesPerSecond: int('rate', base.updatesPerSecond),
    nodePorts: int('node-ports', base.nodePorts),
    // `all` puts every node port on one logical switch (ovn-controller's iterations then grow
    // with the square of the ports: ADR 0100).
    nodePortsPerSwitch:
      arg('node-ports-per-switch') === 'all'
        ? undefined
        : int('node-ports-per-switch', base.nodePortsPerSwitch ?? Number.MAX_SAFE_INTEGER),
    singleRuns: int('single-runs', base.singleRuns),
  };
}

async function main(): Promise<void> {
  const profile = withOverrides(process.argv.includes('--quick') ? QUICK : FULL);
  const only = arg('only');
  const backends = (arg('backends') ?? 'standalone,raft,relay').split(',');
  const bad = backends.find((b) => !['standalone', 'raft', 'relay'].includes(b));
  if (bad !== undefined)
    throw new Error(`--backends: unknown backend ${JSON.stringify(bad)} (standalone, raft, relay)`);
  if (only !== undefined && !['foreign', 'sb', 'plug'].includes(only))
    throw new Error(`--only: unknown part ${JSON.stringify(only)} (foreign, sb, plug)`);
  const maxN = Math.max(...profile.monitorCounts);
  if (maxN > profile.sbChassis || profile.bigSbMonitors > profile.chassis)
    throw new Error(
      `every monitor needs its own chassis: ${maxN} monitors on ${profile.sbChassis} chassis, ${profile.bigSbMonitors} on ${profile.chassis}`,
    );
  const limit = await ownOpenFilesLimit();
  // Each monitor is one socket here and one in the server; the servers inherit our limit.
  if (limit < maxN + 200)
    throw new Error(
      `open-files limit ${limit} is below ${maxN + 200}: run through \`npm run bench:scale\` (it raises ulimit -n) or raise it yourself`,
    );
  const entry = process.argv.includes('--skip-compile')
    ? `${BUILD_DIR}/src/agent/cli.js`
    : await compileAgent(log);
  const runtime = await agentRuntime();
  const ctx: Context = { profile, runtime, entry };
  const capture = parseMonitorCaptureFixture(JSON.parse(await readFile(MONITOR_FIXTURE, 'utf8')));
  const tables = monitorInEffect(capture.requests, capture.database);
  const topology = buildTopology(profile.chassis, profile.portsPerChassis);
  const sbTopology = buildTopology(profile.sbChassis, profile.sbPortsPerChassis);
  log(
    `profile ${profile.name}; ${runtime.description}; open-files limit ${limit}` +
      (agentVariant() === 'as-shipped' ? '' : `; EXPERIMENT agent monitor variant ${agentVariant()}`),
  );

  let foreignRatio = Number.NaN;
  let sbRatio = Number.NaN;
  let single = { ratio: Number.NaN, changeMs: Number.NaN, rssMb: Number.NaN };
  const results: BackendResult[] = [];

  const wantSb = only === undefined || only === 'sb';
  // The node part's fill — minutes of ovn-controller and ovs-vswitchd work — runs while the
  // foreign and SB parts measure, unless --sequential: their figures are the SB server processes'
  // CPU time and agents' RSS, which the fill's processes are not charged to (ADR 0100). The
  // single-port samples start once those parts are done.
  const wantPlug = only === undefined || only === 'plug';
  const startFill = (): Promise<Settled<FilledNodes>> => settled(filledNodes(ctx));
  const earlyFill = wantPlug && !process.argv.includes('--sequential') ? startFill() : undefined;
  const standalone = (sb: OvsdbServer, name: string): Backend => {
    const remote = sb.tcpRemote ?? sb.remote;
    return {
      name,
      monitorRemotes: remote,
      remoteFor: () => remote,
      writeRemote: remote,
      servingPids: () => [sb.process.pid],
      upstreamPids: () => [],
    };
  };
  if (only === undefined || only === 'foreign') {
    const sb = await startOvsdbServer({ schema: OVN_SB_SCHEMA, name: 'sb-big', remotes: ['punix', 'ptcp'] });
    try {
      section('foreign bindings:');
      const foreign = await measureForeign(ctx, sb, topology);
      foreignRatio = foreign.ratio;
      section(
        `connect cost on that SB (${topology.ports.length} bindings), ${profile.bigSbMonitors} monitors per shape:`,
      );
      await measureBackend(
        standalone(sb, `standalone@${topology.ports.length}`),
        // The connect cost is the figure here; the stream windows at N = 10 are noise, kept short.
        { ...profile, monitorCounts: [profile.bigSbMonitors], windowMs: 2000 },
        foreign.content,
        capture,
        tables,
      );
    } finally {
      await sb.stop();
    }
  }
  if (wantSb && backends.includes('standalone')) {
    const sb = await startOvsdbServer({
      schema: OVN_SB_SCHEMA,
      name: 'sb-standalone',
      remotes: ['ptcp'],
      ...(arg('keep-dir') === undefined ? {} : { dir: arg('keep-dir') }),
    });
    try {
      section('Southbound cost, standalone:');
      const content = await populate(sb.tcpRemote ?? sb.remote, sbTopology, 1);
      // A fresh process on the filled database: the memory the big insert transactions freed would
      // otherwise absorb the monitors' allocations and hide them from RSS.
      await sb.restart();
      results.push(await measureBackend(standalone(sb, 'standalone'), profile, content, capture, tables));
    } finally {
      await sb.stop();
    }
  }
  if (wantSb && (backends.includes('raft') || backends.includes('relay'))) {
    const cluster: RaftCluster = await startRaftCluster({
      schema: OVN_SB_SCHEMA,
      name: 'sbc',
      remotes: ['ptcp'],
    });
    try {
      section('Southbound cost, 3-member Raft cluster (monitors spread over the members, CPU summed):');
      const content = await populate((await cluster.leader()).remote, sbTopology, 1);
      // Fresh member processes on the filled database (see the standalone server's restart).
      for (const member of cluster.members) await member.restart();
      await cluster.waitHealthy(120_000);
      const leader = await cluster.leader(60_000);
      const memberRemotes = cluster.members.map((m) => m.remote);
      if (backends.includes('raft')) {
        results.push(
          await measureBackend(
            {
              name: 'raft',
              monitorRemotes: cluster.remote,
              remoteFor: (i) => memberRemotes[i % memberRemotes.length] ?? cluster.remote,
              writeRemote: leader.remote,
              servingPids: () => cluster.members.map((m) => m.pid),
              upstreamPids: () => [],
            },
            profile,
            content,
            capture,
            tables,
          ),
        );
      }
      if (backends.includes('relay')) {
        const relay = await startOvsdbRelay({
          schema: OVN_SB_SCHEMA,
          upstream: cluster.remote,
          name: 'sb-relay',
          remotes: ['ptcp'],
        });
        try {
          const remote = relay.tcpRemote ?? relay.remote;
          section(
            'Southbound cost, ovsdb relay in front of the cluster (relay CPU; the cluster as upstream):',
          );
          results.push(
            await measureBackend(
              {
                name: 'relay',
                monitorRemotes: remote,
                remoteFor: () => remote,
                writeRemote: leader.remote,
                servingPids: () => [relay.process.pid],
                upstreamPids: () => cluster.members.map((m) => m.pid),
              },
              profile,
              content,
              capture,
              tables,
            ),
          );
        } finally {
          await relay.stop();
        }
      }
    } finally {
      await cluster.stop();
    }
  }
  if (results.length > 0) {
    log(`Southbound cost per monitor at N=${maxN} (agent / ovn-controller-shaped):`);
    const ratios: number[] = [];
    for (const r of results) {
      const a = r.agent.find((f) => f.n === maxN);
      const c = r.controller.find((f) => f.n === maxN);
      if (a === undefined || c === undefined) continue;
      const cpu = a.streamCpuPerMonitorMs / c.streamCpuPerMonitorMs;
      // (per 1,000 updated rows, so a stream the server throttled does not skew the ratio)
      const sync = a.connectCpuPerMonitorMs / c.connectCpuPerMonitorMs;
      const mem = a.rssPerMonitorKb / c.rssPerMonitorKb;
      ratios.push(cpu);
      log(
        `  ${r.backend}: stream CPU ${a.streamCpuPerMonitorMs.toFixed(4)} / ${c.streamCpuPerMonitorMs.toFixed(4)} ms per 1,000 rows = ${cpu.toFixed(3)}; connect+sync CPU ${a.connectCpuPerMonitorMs.toFixed(2)} / ${c.connectCpuPerMonitorMs.toFixed(2)} ms = ${sync.toFixed(3)}; RSS ${a.rssPerMonitorKb.toFixed(1)} / ${c.rssPerMonitorKb.toFixed(1)} KiB = ${mem.toFixed(3)}`,
      );
    }
    sbRatio = Math.max(...ratios);
  }

  if (wantPlug) {
    section(`plug latency on a node with ${profile.nodePorts} plugged ports:`);
    try {
      single = await measureNodeAtScale(ctx, fromSettled(await (earlyFill ?? startFill())));
    } catch (error) {
      // The other parts' figures are still worth their line; this part's become n/a.
      log(`  FAILED: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }

  log(
    `topology: foreign-RSS SB ${describe(topology)}; per-N SB ${describe(sbTopology)}; ` +
      `monitors N=${profile.monitorCounts.join(',')} per shape (agent: OvsdbClient in this process; ovn-controller: captured ${capture.capturedFrom} monitor replayed), ` +
      `update stream ${profile.updatesPerSecond} Port_Binding rows/s (up toggled, 10 transactions/s) over all chassis, CPU windows ${profile.windowMs / 1000} s; ` +
      `node: ${profile.nodePorts} ports on ${profile.nodePortsPerSwitch === undefined ? 'one logical switch' : `logical switches of ${profile.nodePortsPerSwitch}`}, ${profile.singleRuns} single-port samples per plugger; agent-own SB for the RSS ratio: ${OWN_PORTS} ports; run took ${((performance.now() - runStarted) / 60000).toFixed(1)} min`,
  );
  const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  log(
    `scale foreign_rss_ratio=${fmt(foreignRatio, 3)} sb_cpu_ratio=${fmt(sbRatio, 3)} single_at10k_ratio=${fmt(single.ratio, 3)} agent_change_ms=${fmt(single.changeMs, 2)} rss10k_mb=${fmt(single.rssMb, 1)}`,
  );
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
