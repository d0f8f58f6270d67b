/**
 * Prometheus metrics of the agent, registered on an injected prom-client `Registry` (never the
 * global one), all named `ovn_plug_*`.
 *
 * Label cardinality is bounded by what lives on this node: the per-port info gauge carries one
 * series per port the agent wants or owns here (not per SB row), at most `portInfoLimit` of them
 * (see {@link AgentMetricsOptions}), and reason labels are the CamelCase reason codes, never free
 * text.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { PORT_STATES } from '../plug/index.js';
import { DEFAULT_METRICS_PORT_INFO_LIMIT } from './config.js';
import {
  KUBE_REQUEST_KINDS,
  KUBE_REQUEST_OUTCOMES,
  type KubeRequestKind,
  type KubeRequestOutcome,
  type KubeSinkObserver,
} from './kube/index.js';
import { DEGRADING_STATES, degradingState, type AgentStatus, type PortStatus } from './status/index.js';

export type DbName = 'sb' | 'ovs';
/** `conflict`: lost a name race to another writer (e.g. ovn-controller's built-in plugging), replanned. */
export type TransactionOutcomeLabel =
  'success' | 'tryAgain' | 'conflict' | 'error' | 'unknown' | 'notLocked' | 'empty';
export type ReplanTrigger = 'change' | 'provider' | 'timer' | 'reconnect' | 'retry' | 'startup';

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const RECONCILE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export interface AgentMetricsOptions {
  /**
   * Bound on `ovn_plug_port_info` series. Up to this many ports: one series per port. Above it:
   * only ports that are not `Bound`, sorted by name, at most this many (the ones worth looking
   * at); `ovn_plug_port_info_omitted` counts the ports left out. 0: no per-port series at all.
   * Default `DEFAULT_METRICS_PORT_INFO_LIMIT` (`--metrics-port-info-limit`).
   */
  readonly portInfoLimit?: number;
  /** Labels of `ovn_plug_build_info`; absent: both `unknown` (the series always exists). */
  readonly build?: { readonly version: string; readonly nodeVersion: string };
}

/** The ports that get an `ovn_plug_port_info` series under `limit` (see {@link AgentMetricsOptions}). */
export function portsWithInfo(ports: readonly PortStatus[], limit: number): readonly PortStatus[] {
  if (ports.length <= limit) return ports;
  return ports
    .filter((port) => port.state !== 'Bound')
    .sort((a, b) => (a.logicalPort < b.logicalPort ? -1 : a.logicalPort > b.logicalPort ? 1 : 0))
    .slice(0, limit);
}

/** The agent's metric families; one instance per agent, bound to one registry. */
export class AgentMetrics {
  readonly #ports: Gauge<'state'>;
  readonly #portsDegrading: Gauge<'state'>;
  readonly #portInfo: Gauge<'logical_port' | 'interface' | 'provider' | 'state'>;
  readonly #portInfoOmitted: Gauge;
  readonly #portInfoLimit: number;
  readonly #plugLatency: Histogram;
  readonly #bindLatency: Histogram;
  readonly #providerErrors: Counter<'provider' | 'reason'>;
  readonly #providerAvailable: Gauge<'provider'>;
  readonly #reconcileDuration: Histogram;
  readonly #transactions: Counter<'outcome'>;
  readonly #dbConnected: Gauge<'db'>;
  readonly #dbReconnects: Counter<'db'>;
  readonly #removalsHeld: Gauge;
  readonly #replans: Counter<'trigger'>;
  readonly #kubeRequests: Counter<'kind' | 'outcome'>;
  readonly #kubePendingWrites: Gauge;
  /** The ports list of the last snapshot recorded (compared by identity). */
  #recordedPorts: AgentStatus['ports'] | undefined;

  constructor(registry: Registry, options: AgentMetricsOptions = {}) {
    const registers = [registry];
    this.#portInfoLimit = options.portInfoLimit ?? DEFAULT_METRICS_PORT_INFO_LIMIT;
    new Gauge({
      name: 'ovn_plug_build_info',
      help: 'Always 1; labels name the agent version and the Node.js runtime it runs on.',
      labelNames: ['version', 'node_version'],
      registers,
    }).set(
      { version: options.build?.version ?? 'unknown', node_version: options.build?.nodeVersion ?? 'unknown' },
      1,
    );
    this.#portsDegrading = new Gauge({
      name: 'ovn_plug_ports_degrading',
      help: 'Ports that degrade the node (DESIGN §3.5), by state; not Bound, Down, Unplugging, nor ports plugged by ovn-controller itself.',
      labelNames: ['state'],
      registers,
    });
    this.#portInfoOmitted = new Gauge({
      name: 'ovn_plug_port_info_omitted',
      help: 'Ports without an ovn_plug_port_info series because of --metrics-port-info-limit.',
      registers,
    });
    this.#ports = new Gauge({
      name: 'ovn_plug_ports',
      help: 'Ports this agent wants or owns, by state.',
      labelNames: ['state'],
      registers,
    });
    this.#portInfo = new Gauge({
      name: 'ovn_plug_port_info',
      help: 'One series per port on this node (value 1) with its interface, provider and state.',
      labelNames: ['logical_port', 'interface', 'provider', 'state'],
      registers,
    });
    this.#plugLatency = new Histogram({
      name: 'ovn_plug_plug_latency_seconds',
      help: 'Time from first sighting of a wanted port to its interface being committed (Plugged).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#bindLatency = new Histogram({
      name: 'ovn_plug_bind_latency_seconds',
      help: 'Time from first sighting of a wanted port to ovn-controller binding it (Bound).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#providerErrors = new Counter({
      name: 'ovn_plug_provider_errors_total',
      help: 'Provider answers that kept a port from being plugged (not-now, throws, unavailable) and run() failures, by reason code.',
      labelNames: ['provider', 'reason'],
      registers,
    });
    this.#providerAvailable = new Gauge({
      name: 'ovn_plug_provider_available',
      help: '1 when the provider is registered and initialised, 0 when unavailable.',
      labelNames: ['provider'],
      registers,
    });
    this.#reconcileDuration = new Histogram({
      name: 'ovn_plug_reconcile_duration_seconds',
      help: 'Time to plan one reconcile round (replica read, provider answers, planning, status).',
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.#transactions = new Counter({
      name: 'ovn_plug_ovs_transactions_total',
      help: 'OVS DB transactions sent by the agent, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.#dbConnected = new Gauge({
      name: 'ovn_plug_db_connected',
      help: '1 while the database connection is monitoring (initial sync done), else 0.',
      labelNames: ['db'],
      registers,
    });
    this.#dbReconnects = new Counter({
      name: 'ovn_plug_db_reconnects_total',
      help: 'Reconnections to the database.',
      labelNames: ['db'],
      registers,
    });
    this.#removalsHeld = new Gauge({
      name: 'ovn_plug_removals_held',
      help: 'Ports whose removal the removal guard currently holds (resync, identity, startup or mass removal).',
      registers,
    });
    this.#replans = new Counter({
      name: 'ovn_plug_replans_total',
      help: 'Planning rounds, by what triggered them.',
      labelNames: ['trigger'],
      registers,
    });
    this.#kubeRequests = new Counter({
      name: 'ovn_plug_kube_requests_total',
      help: 'Kubernetes API requests made by the status sinks, by sink (node_status, portplug, event) and outcome.',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.#kubePendingWrites = new Gauge({
      name: 'ovn_plug_kube_pending_writes',
      help: 'PortPlug objects queued for a write that has not started (rate limiter, retries due).',
      registers,
    });
    for (const kind of KUBE_REQUEST_KINDS)
      for (const outcome of KUBE_REQUEST_OUTCOMES) this.#kubeRequests.inc({ kind, outcome }, 0);
    for (const state of DEGRADING_STATES) this.#portsDegrading.set({ state }, 0);
    for (const db of ['sb', 'ovs'] as const) {
      this.#dbConnected.set({ db }, 0);
      this.#dbReconnects.inc({ db }, 0);
    }
  }

  /**
   * Refreshes the gauges that mirror a status snapshot. The per-port ones only when the ports list
   * is another array: the status model hands the same one while no port changed.
   */
  recordSnapshot(status: AgentStatus): void {
    if (status.ports !== this.#recordedPorts) {
      this.#recordedPorts = status.ports;
      this.#recordPorts(status.ports);
    }
    for (const provider of status.providers)
      this.#providerAvailable.set({ provider: provider.type }, provider.available ? 1 : 0);
    this.#dbConnected.set({ db: 'sb' }, status.sb.state === 'monitoring' ? 1 : 0);
    this.#dbConnected.set({ db: 'ovs' }, status.ovs.state === 'monitoring' ? 1 : 0);
    this.#removalsHeld.set(status.heldRemovals?.count ?? 0);
  }

  #recordPorts(ports: AgentStatus['ports']): void {
    const counts = new Map<string, number>(PORT_STATES.map((s) => [s, 0]));
    const degrading = new Map<string, number>(DEGRADING_STATES.map((s) => [s, 0]));
    for (const port of ports) {
      counts.set(port.state, (counts.get(port.state) ?? 0) + 1);
      const state = degradingState(port);
      if (state !== undefined) degrading.set(state, (degrading.get(state) ?? 0) + 1);
    }
    this.#portInfo.reset();
    const withInfo = portsWithInfo(ports, this.#portInfoLimit);
    this.#portInfoOmitted.set(ports.length - withInfo.length);
    for (const port of withInfo) {
      this.#portInfo.set(
        {
          logical_port: port.logicalPort,
          interface: port.interfaceName ?? '',
          provider: port.provider,
          state: port.state,
        },
        1,
      );
    }
    for (const [state, n] of counts) this.#ports.set({ state }, n);
    for (const [state, n] of degrading) this.#portsDegrading.set({ state }, n);
  }

  observePlugLatency(ms: number): void {
    this.#plugLatency.observe(ms / 1000);
  }

  observeBindLatency(ms: number): void {
    this.#bindLatency.observe(ms / 1000);
  }

  providerError(provider: string, reason: string): void {
    this.#providerErrors.inc({ provider, reason });
  }

  observeReconcile(ms: number): void {
    this.#reconcileDuration.observe(ms / 1000);
  }

  transaction(outcome: TransactionOutcomeLabel): void {
    this.#transactions.inc({ outcome });
  }

  dbReconnected(db: DbName): void {
    this.#dbReconnects.inc({ db });
  }

  replan(trigger: ReplanTrigger): void {
    this.#replans.inc({ trigger });
  }

  kubeRequest(kind: KubeRequestKind, outcome: KubeRequestOutcome): void {
    this.#kubeRequests.inc({ kind, outcome });
  }

  kubePendingWrites(count: number): void {
    this.#kubePendingWrites.set(count);
  }

  /** The observer to give `startKubeStatusSinks`, feeding the `ovn_plug_kube_*` families. */
  kubeObserver(): KubeSinkObserver {
    return {
      request: (kind, outcome) => this.kubeRequest(kind, outcome),
      pendingWrites: (count) => this.kubePendingWrites(count),
    };
  }
}
