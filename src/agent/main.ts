/**
 * The composition root: the only module that reads `process.env`, opens sockets, arms real timers
 * and handles signals. Everything else receives what it needs.
 *
 * `startAgent(config)` wires one agent: the local OVS replica first (its `Open_vSwitch` row
 * supplies the defaults ovn-controller uses: SB remote, chassis name, integration bridge), then
 * the SB replica restricted to this chassis, the provider registry, the reconciler, the HTTP
 * endpoint and, with `--node-name`, the Kubernetes status sinks. It returns a handle; `stop()`
 * closes everything and unplugs nothing (DESIGN §3.4: upgrades must not cut the data path).
 *
 * `runCli(argv)` is the process entry used by `cli.ts`.
 */
import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  OvsdbClient,
  where,
  type ChangeBatch,
  type TableMonitorSpec,
  type TlsFiles as OvsdbTlsFiles,
} from '../ovsdb/index.js';
import {
  planPorts,
  ProviderRegistry,
  systemTimers,
  type Clock,
  type PlugProvider,
  type Timers,
} from '../plug/index.js';
import { DummyProvider } from '../providers/dummy/index.js';
import { loadProviderModules } from '../providers/external/index.js';
import { createRepresentorProvider, RepresentorProvider } from '../providers/representor/index.js';
import { CardSerialPublisher } from './card-serial.js';
import { OvsSfIntentStore } from './sf-intents.js';
import {
  parseCommandLine,
  resolveFromOpenVswitch,
  usage,
  type Config,
  type ResolvedConfig,
} from './config.js';
import { formatHostPort, startHttpServer, type HealthReport, type HttpServerHandle } from './http.js';
import { DB_ANSWER_PROBE_INTERVAL_MS, DB_STALLED_AFTER_MS, DbAnswerProbe } from './db-answer-probe.js';
import { Liveness, providerRunWork, reconcilerLivenessSink } from './liveness.js';
import {
  createHttpsTransport,
  KubeClient,
  removeKubeStatus,
  resolveKubeConnection,
  startKubeStatusSinks,
  type KubeStatusSinks,
} from './kube/index.js';
import type { Logger } from './logger.js';
import { AgentMetrics } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { stringMap } from './replica-rows.js';
import { formatProvidersTable, formatStatusTable } from './status/index.js';
import type {
  AgentStatus,
  HeldPort,
  InventoryEntry,
  ProviderInventoryReport,
  StatusAnswer,
} from './status/index.js';

export interface AgentOptions {
  /** Default: pino at `config.logLevel`, JSON to stdout. */
  readonly logger?: Logger;
  /** Default: a fresh registry with prom-client's process metrics. */
  readonly metricsRegistry?: Registry;
  /** Providers registered in addition to `config.providers` (tests, embedding). */
  readonly extraProviders?: readonly PlugProvider[];
  /** Environment for the Kubernetes in-cluster config; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
  readonly timers?: Timers;
  /** Every status snapshot, after the built-in sinks. */
  readonly onStatus?: (status: AgentStatus) => void;
  /** SB/OVS reconnect backoff; default the client's 1..8 s. */
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number };
  /** Aborts waiting for the OVS DB at start. */
  readonly signal?: AbortSignal;
}

export interface AgentHandle {
  readonly config: ResolvedConfig;
  /** `http://host:port` of `--listen`, when enabled. */
  readonly url?: string;
  readonly reconciler: Reconciler;
  readonly metricsRegistry: Registry;
  /** Card serial publication (ADR 0055); absent with `--card-serial=off` or without the representor provider. */
  readonly cardSerial?: CardSerialPublisher;
  status(): AgentStatus;
  /** What `/healthz` answers: liveness (ADR 0106) and the database clients not closed. */
  health(): HealthReport;
  /** Closes connections and servers; leaves every port plugged. */
  stop(): Promise<void>;
}

/** The agent's OVS monitor (tables and columns); tests that drive a Reconciler in-process reuse it. */
export const OVS_MONITOR_TABLES = {
  Open_vSwitch: { columns: ['external_ids', 'other_config', 'bridges'] },
  Bridge: { columns: ['name', 'ports', 'datapath_type'] },
  Port: { columns: ['name', 'interfaces'] },
  // Never `statistics`: it changes every few seconds and would wake the reconciler for nothing.
  Interface: {
    columns: [
      'name',
      'type',
      'options',
      'external_ids',
      'mtu_request',
      'ofport',
      'error',
      'link_state',
      'admin_state',
    ],
  },
} as const;

/** Port_Binding columns of the agent's SB monitor (bench/scale.ts replays the same monitor). */
export const PORT_BINDING_COLUMNS = [
  'logical_port',
  'type',
  'parent_port',
  'options',
  'requested_chassis',
  'requested_additional_chassis',
  'chassis',
  'up',
  'mac',
];

/**
 * The agent's SB monitor: its own Chassis row, and Port_Binding with a condition that matches
 * nothing until the reconciler sets this chassis' condition (DESIGN §3.1).
 */
export function sbMonitorTables(chassis: string): Readonly<Record<string, TableMonitorSpec>> {
  return {
    Chassis: { columns: ['name'], where: [where('name', '==', chassis)] },
    Port_Binding: { columns: PORT_BINDING_COLUMNS, where: false },
  };
}

/**
 * The OVS transaction time limit, set explicitly because liveness lets an in-flight transaction
 * wait this long on the OVS DB before its stall time counts (ADR 0106): the client answers
 * `unknown` by then.
 */
const OVS_TRANSACT_TIMEOUT_MS = 60_000;

/** Starts an agent; resolves once both database clients are started and the reconciler runs. */
export async function startAgent(config: Config, options: AgentOptions = {}): Promise<AgentHandle> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const now = options.now ?? Date.now;
  const timers = options.timers ?? systemTimers;
  // One runtime contract (src/plug/runtime.ts) for the reconciler, the registry, the providers and
  // the Kubernetes sinks; src/ovsdb takes the logger alone (a pino child fits its narrower one).
  const clock: Clock = { now };
  const metricsRegistry = options.metricsRegistry ?? defaultRegistry();
  const tls = tlsOf(config);
  const liveness = new Liveness({ stallMs: config.livenessStallMs, now });
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        logger.warn({ err: error }, 'error while stopping');
      }
    }
  };

  try {
    const ovs = new OvsdbClient({
      remotes: config.ovsDb,
      database: 'Open_vSwitch',
      tables: OVS_MONITOR_TABLES,
      timeouts: { transactMs: OVS_TRANSACT_TIMEOUT_MS },
      logger: logger.child({ db: 'ovs' }),
      ...(tls === undefined ? {} : { tls }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    });
    cleanups.push(() => ovs.close());
    ovs.start();
    logger.info({ remote: config.ovsDb }, 'connecting to the local OVS DB');
    const resolved = await resolveWhenPossible(ovs, config, logger, options.signal);

    const sb = new OvsdbClient({
      remotes: resolved.ovnsbDb,
      database: 'OVN_Southbound',
      leaderOnly: false,
      tables: sbMonitorTables(resolved.chassis),
      logger: logger.child({ db: 'sb' }),
      ...(tls === undefined ? {} : { tls }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    });
    cleanups.push(() => sb.close());
    sb.start();
    logger.info(
      { remotes: resolved.ovnsbDb, chassis: resolved.chassis, bridge: resolved.integrationBridge },
      'connecting to the Southbound DB',
    );

    const late: { reconciler?: Reconciler; cardSerial?: CardSerialPublisher } = {};
    const providerLogger = logger.child({ component: 'providers' });
    const registry = new ProviderRegistry({
      clock,
      timers,
      logger: providerLogger,
      // A provider whose run() starts failing or recovers changes its ports' state: replan now.
      onRunHealthChange: () => late.reconciler?.schedule('provider'),
      onRunActivity: (type, running) => {
        if (running) liveness.pending(providerRunWork(type));
        else liveness.done(providerRunWork(type));
      },
    });
    cleanups.push(() => registry.destroyAll());
    const builtins = builtinProviders(resolved, providerLogger, timers, new OvsSfIntentStore(ovs), () => {
      late.reconciler?.schedule('provider');
      late.cardSerial?.poke();
    });
    for (const provider of builtins) await registry.register(provider);
    for (const provider of options.extraProviders ?? []) await registry.register(provider);
    if (resolved.providerModules.length > 0) {
      // Every problem of every module is reported at once (ProviderModuleError) and stops the start.
      const loaded = await loadProviderModules(resolved.providerModules, {
        logger: providerLogger,
        reservedTypes: registry.list().map((p) => p.type),
      });
      for (const { provider, modulePath, exportName } of loaded) {
        await registry.register(provider);
        logger.info({ provider: provider.type, modulePath, exportName }, 'provider loaded from module');
      }
    }

    const metrics = new AgentMetrics(metricsRegistry, {
      portInfoLimit: resolved.metricsPortInfoLimit,
      build: { version: AGENT_VERSION, nodeVersion: process.version },
    });
    let kube: KubeStatusSinks | undefined;
    if (resolved.nodeName !== undefined) {
      const connection = resolveKubeConnection({
        ...(resolved.kubeconfig === undefined ? {} : { kubeconfig: resolved.kubeconfig }),
        env: options.env ?? process.env,
      });
      kube = startKubeStatusSinks({
        nodeName: resolved.nodeName,
        connection,
        logger: logger.child({ component: 'kubernetes' }),
        clock: { now, setTimer: (callback, delayMs) => timers.setTimer(callback, delayMs) },
        observer: metrics.kubeObserver(),
      });
      const sinks = kube;
      cleanups.push(() => sinks.stop());
    } else if (resolved.kubeconfig !== undefined) {
      logger.warn(
        { kubeconfig: resolved.kubeconfig },
        '--kubeconfig given without --node-name: Kubernetes status reporting is off',
      );
    }

    const running = new Reconciler({
      sb,
      ovs,
      providers: registry,
      chassisName: resolved.chassis,
      integrationBridge: resolved.integrationBridge,
      ownershipKey: resolved.ownershipMarker,
      observePlugTypes: new Set(resolved.observePlugTypes),
      removalHold: {
        share: resolved.massRemovalShare,
        minCount: resolved.massRemovalMinPorts,
        graceMs: resolved.massRemovalGraceMs,
      },
      resyncIntervalMs: resolved.resyncIntervalMs,
      planner: planPorts,
      now,
      timers,
      logger: logger.child({ component: 'reconciler' }),
      metrics,
      ...(resolved.nodeName === undefined ? {} : { nodeName: resolved.nodeName }),
      onStatus: (status) => {
        kube?.update(status);
        options.onStatus?.(status);
      },
      onLiveness: reconcilerLivenessSink(liveness, OVS_TRANSACT_TIMEOUT_MS),
    });
    late.reconciler = running;
    cleanups.push(() => running.stop());
    running.start();
    const unfollow = followOpenVswitch(ovs, sb, running, config, resolved, logger);
    cleanups.push(() => Promise.resolve(unfollow()));

    const representor = builtins.find((p): p is RepresentorProvider => p instanceof RepresentorProvider);
    if (resolved.cardSerial === 'auto' && representor !== undefined) {
      const publisher = new CardSerialPublisher({
        ovs,
        sysfsRoot: resolved.sysfsRoot,
        candidates: () => representor.dpuPciAddresses(),
        logger: logger.child({ component: 'card-serial' }),
        registry: metricsRegistry,
        now,
      });
      late.cardSerial = publisher;
      cleanups.push(() => publisher.stop());
      publisher.start();
    }

    // A database that is connected but does not answer is a reported state and fails readiness.
    const answerProbe = (client: OvsdbClient): DbAnswerProbe => {
      const probe = new DbAnswerProbe({
        echo: () => client.rpc('echo', []),
        connected: () => client.state === 'monitoring',
        intervalMs: DB_ANSWER_PROBE_INTERVAL_MS,
        stalledAfterMs: DB_STALLED_AFTER_MS,
        now,
        timers,
      });
      cleanups.push(() => Promise.resolve(probe.stop()));
      probe.start();
      return probe;
    };
    const ovsProbe = answerProbe(ovs);
    const sbProbe = answerProbe(sb);
    const statusNow = (): AgentStatus => withUnanswered(running.status(), now(), sbProbe, ovsProbe);
    const healthNow = (): HealthReport => health(ovs.state, sb.state, liveness, now());

    let http: HttpServerHandle | undefined;
    if (resolved.listen !== undefined) {
      http = await startHttpServer(resolved.listen, {
        registry: metricsRegistry,
        status: statusNow,
        health: healthNow,
        providers: () => inventories(registry, running.status()),
        now,
      });
      const server = http;
      cleanups.push(() => server.close());
      logger.info({ url: http.url }, 'serving /metrics /healthz /readyz /status /providers');
    }

    let stopped = false;
    return {
      config: resolved,
      ...(http === undefined ? {} : { url: http.url }),
      reconciler: running,
      metricsRegistry,
      ...(late.cardSerial === undefined ? {} : { cardSerial: late.cardSerial }),
      status: statusNow,
      health: healthNow,
      async stop() {
        if (stopped) return;
        stopped = true;
        logger.info({}, 'stopping; plugged ports stay as they are');
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function defaultRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ovn_plug_' });
  return registry;
}

function tlsOf(config: Config): OvsdbTlsFiles | undefined {
  if (config.tls === undefined) return undefined;
  return {
    privateKeyFile: config.tls.privateKey,
    certFile: config.tls.certificate,
    caCertFile: config.tls.caCert,
  };
}

function builtinProviders(
  config: ResolvedConfig,
  logger: Logger,
  timers: Timers,
  sfIntents: OvsSfIntentStore,
  onChange: () => void,
): PlugProvider[] {
  return config.providers.map((name) => {
    if (name === 'dummy') return new DummyProvider();
    return createRepresentorProvider({
      devlinkCommand: config.devlinkCommand,
      sysfsRoot: config.sysfsRoot,
      datapath: config.representorDatapath,
      dpdkRepresentorSyntax: config.dpdkRepresentorSyntax,
      sfIntents,
      logger: logger.child({ provider: 'representor' }),
      timers,
      onChange,
    });
  });
}

/**
 * Waits for the OVS replica and resolves the settings it supplies. Missing settings (ovn-controller
 * not configured yet) are logged and waited for, like ovn-controller does.
 */
async function resolveWhenPossible(
  ovs: OvsdbClient,
  config: Config,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<ResolvedConfig> {
  let lastProblems = '';
  for (;;) {
    await ovs.ready(signal === undefined ? {} : { signal });
    const row = ovs.table('Open_vSwitch').all()[0];
    const externalIds = new Map(Object.entries(row === undefined ? {} : stringMap(row, 'external_ids')));
    const result = resolveFromOpenVswitch(config, externalIds);
    if (result.ok) return result.config;
    const problems = result.errors.join('; ');
    if (problems !== lastProblems)
      logger.warn({ problems: result.errors }, 'waiting for the local OVS DB to supply settings');
    lastProblems = problems;
    await ovs.waitForChange(ovs.seqno, signal === undefined ? {} : { signal });
  }
}

/**
 * Follows the settings ovn-controller follows live (DESIGN §3.5a): `external_ids:system-id` and
 * `ovn-bridge` go to the reconciler, `ovn-remote` to the SB client. A setting given as a flag is
 * never taken from the DB (resolveFromOpenVswitch), so it is not followed either. A value that
 * becomes missing or malformed is reported and the current one kept: never unplug on doubt.
 * Returns the unsubscribe function.
 */
function followOpenVswitch(
  ovs: OvsdbClient,
  sb: OvsdbClient,
  reconciler: Reconciler,
  config: Config,
  initial: ResolvedConfig,
  logger: Logger,
): () => void {
  let current = {
    chassis: initial.chassis,
    integrationBridge: initial.integrationBridge,
    ovnsbDb: initial.ovnsbDb.join(','),
  };
  let lastProblems = '';
  const onChange = (batch?: ChangeBatch): void => {
    // Interface churn must not pay for this: only a batch touching the root row can change it.
    if (batch !== undefined && !batch.cleared && batch.tables['Open_vSwitch'] === undefined) return;
    const row = ovs.table('Open_vSwitch').all()[0];
    if (row === undefined) return;
    const result = resolveFromOpenVswitch(config, new Map(Object.entries(stringMap(row, 'external_ids'))));
    if (!result.ok) {
      const problems = result.errors.join('; ');
      if (problems !== lastProblems)
        logger.warn(
          { problems: result.errors, chassis: current.chassis, sbRemotes: current.ovnsbDb },
          'local OVS DB settings became unusable: keeping the current ones',
        );
      lastProblems = problems;
      return;
    }
    lastProblems = '';
    const next = {
      chassis: result.config.chassis,
      integrationBridge: result.config.integrationBridge,
      ovnsbDb: result.config.ovnsbDb.join(','),
    };
    if (next.ovnsbDb !== current.ovnsbDb) {
      try {
        sb.setRemotes(result.config.ovnsbDb);
        logger.info(
          { from: current.ovnsbDb, to: next.ovnsbDb },
          'Southbound remotes changed: following them',
        );
      } catch (error) {
        logger.warn({ err: error, remotes: next.ovnsbDb }, 'cannot use the new Southbound remotes');
        next.ovnsbDb = current.ovnsbDb;
      }
    }
    if (next.chassis !== current.chassis || next.integrationBridge !== current.integrationBridge)
      reconciler.setIdentity({ chassisName: next.chassis, integrationBridge: next.integrationBridge });
    current = next;
  };
  ovs.on('change', onChange);
  // A change between the start-up read and this subscription is picked up now.
  onChange();
  return () => void ovs.off('change', onChange);
}

/**
 * Liveness (ADR 0106): no work pending without progress beyond the bound, and neither database
 * client closed (a closed client never reconnects). Unreachable or stalled databases are readiness.
 */
function health(ovsState: string, sbState: string, liveness: Liveness, nowMs: number): HealthReport {
  const problems: string[] = [...liveness.report(nowMs).problems];
  if (ovsState === 'closed') problems.push('OVS DB client closed');
  if (sbState === 'closed') problems.push('Southbound DB client closed');
  return { ok: problems.length === 0, problems };
}

/** Adds when each database stopped answering, once it counts as stalled. */
function withUnanswered(
  status: AgentStatus,
  nowMs: number,
  sb: DbAnswerProbe,
  ovs: DbAnswerProbe,
): AgentStatus {
  const sbSince = sb.stalledSinceMs(nowMs);
  const ovsSince = ovs.stalledSinceMs(nowMs);
  if (sbSince === undefined && ovsSince === undefined) return status;
  return {
    ...status,
    ...(sbSince === undefined ? {} : { sb: { ...status.sb, unansweredSinceMs: sbSince } }),
    ...(ovsSince === undefined ? {} : { ovs: { ...status.ovs, unansweredSinceMs: ovsSince } }),
  };
}

function inventories(registry: ProviderRegistry, status: AgentStatus): ProviderInventoryReport[] {
  const portByInterface = new Map<string, string>();
  for (const port of status.ports)
    if (port.interfaceName !== undefined) portByInterface.set(port.interfaceName, port.logicalPort);
  return registry.list().map((state) => {
    const ports: HeldPort[] = status.ports.flatMap((port) =>
      port.provider === state.type && port.interfaceName !== undefined
        ? [{ logicalPort: port.logicalPort, interfaceName: port.interfaceName, state: port.state }]
        : [],
    );
    const base = {
      type: state.type,
      available: state.available,
      ...(state.reason === undefined ? {} : { reason: state.reason }),
      ports,
    };
    const provider = registry.provider(state.type);
    if (provider?.inventory === undefined) return base;
    try {
      const inventory = provider.inventory();
      const items: InventoryEntry[] = inventory.items.map((item) => {
        const logicalPort = item.name === undefined ? undefined : portByInterface.get(item.name);
        return { ...item, ...(logicalPort === undefined ? {} : { logicalPort }) };
      });
      return { ...base, items, ...(inventory.notes === undefined ? {} : { notes: inventory.notes }) };
    } catch (error) {
      return { ...base, error: error instanceof Error ? error.message : String(error) };
    }
  });
}

/** Output and exit code of one CLI invocation (so tests can run it in-process). */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/**
 * The process entry: parses argv/env, dispatches `run` / `status` / `providers` / `help` /
 * `version`. For `run`, installs SIGTERM/SIGINT handlers that stop cleanly and leave ports
 * plugged. Returns the exit code (`run` returns only after a signal).
 */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const parsed = parseCommandLine(argv, process.env);
  if (!parsed.ok) {
    io.stderr(
      `ovn-plug-agent: invalid configuration:\n${parsed.errors.map((e) => `  - ${e}`).join('\n')}\n(see ovn-plug-agent --help)\n`,
    );
    return 2;
  }
  const config = parsed.config;
  switch (config.command) {
    case 'help':
      io.stdout(usage());
      return 0;
    case 'version':
      io.stdout(`ovn-plug-agent ${AGENT_VERSION}\n`);
      return 0;
    case 'status':
    case 'providers':
      return fetchAndPrint(config, io);
    case 'remove-kube-status':
      return removeKubeStatusCommand(config, io);
    case 'run':
      return runAgentProcess(config, io);
  }
}

export const AGENT_VERSION = '0.1.0';

const defaultIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

async function fetchAndPrint(config: Config, io: CliIo): Promise<number> {
  if (config.listen === undefined) {
    io.stderr('ovn-plug-agent: --listen=off: no agent endpoint to ask\n');
    return 2;
  }
  const host =
    config.listen.host === '0.0.0.0' ? '127.0.0.1' : config.listen.host === '::' ? '::1' : config.listen.host;
  const url = `http://${formatHostPort({ host, port: config.listen.port })}/${config.command}`;
  let body: unknown;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) {
      io.stderr(`ovn-plug-agent: ${url} answered ${res.status}: ${await res.text()}\n`);
      return 1;
    }
    body = await res.json();
  } catch (error) {
    io.stderr(
      `ovn-plug-agent: cannot reach the agent at ${url}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}\n(is it running? pass --listen=HOST:PORT of its --listen)\n`,
    );
    return 1;
  }
  if (config.json) io.stdout(JSON.stringify(body, null, 2) + '\n');
  else if (config.command === 'status') {
    // Ages on the agent's clock when it says when it answered (older agents do not).
    const answer = body as StatusAnswer;
    io.stdout(formatStatusTable(answer, answer.answeredAtMs ?? Date.now()));
  } else io.stdout(formatProvidersTable(body as ProviderInventoryReport[]));
  return 0;
}

/** The Helm pre-delete hook (docs/adr/0072): removes our node conditions and PortPlug objects. */
async function removeKubeStatusCommand(config: Config, io: CliIo): Promise<number> {
  try {
    const connection = resolveKubeConnection({
      ...(config.kubeconfig === undefined ? {} : { kubeconfig: config.kubeconfig }),
      env: process.env,
    });
    const client = new KubeClient({ transport: createHttpsTransport(connection) });
    const nodes = config.allNodes || config.nodeName === undefined ? 'all' : [config.nodeName];
    const result = await removeKubeStatus({ client, nodes, logger: pino({ level: config.logLevel }) });
    io.stdout(
      `removed conditions from ${result.nodesCleaned.length} node(s), deleted ${result.portPlugsDeleted} PortPlug object(s)\n`,
    );
    return 0;
  } catch (error) {
    io.stderr(
      `ovn-plug-agent remove-kube-status: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
}

async function runAgentProcess(config: Config, io: CliIo): Promise<number> {
  const abort = new AbortController();
  let handle: AgentHandle | undefined;
  let signalled = false;
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) return;
      signalled = true;
      abort.abort(new Error(`received ${signal}`));
      void (async () => {
        await handle?.stop();
        resolve(0);
      })();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  try {
    handle = await startAgent(config, { signal: abort.signal, logger: pino({ level: config.logLevel }) });
  } catch (error) {
    if (signalled) return done;
    io.stderr(`ovn-plug-agent: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  if (signalled) await handle.stop();
  return done;
}
