/**
 * The status reporter: turns each round's facts into port states (status/model.ts), reports every
 * state transition (logs, metrics, the caller's sink) and keeps the latest status snapshot. The
 * ports change with rounds only; identity, database connections and providers are read afresh when
 * the status is asked for, so `/readyz` never lags behind a connection change.
 */
import { isProviderReason, type Clock, type Plan } from '../plug/index.js';
import type { Logger, RateLimitedLog } from './logger.js';
import type { AgentMetrics } from './metrics.js';
import {
  derivePortState,
  PortStatusModel,
  type AgentStatus,
  type PortFacts,
  type PortObservation,
  type PortTransition,
  type ProviderStatus,
} from './status/index.js';
import type { ProviderSource } from './reconciler-options.js';

/** Who the agent is and how its databases are connected: read from the chassis tracker. */
export type StatusHeader = Pick<AgentStatus, 'chassis' | 'integrationBridge' | 'sb' | 'ovs'>;

export interface StatusReporterOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly rateLimited: RateLimitedLog;
  readonly metrics?: AgentMetrics;
  readonly nodeName?: string;
  readonly header: () => StatusHeader;
  readonly providers: ProviderSource;
  /** The removal guard's holds as of the last plan. */
  readonly heldRemovals: () => { readonly count: number; readonly untilMs: number } | undefined;
  readonly onStatus?: (status: AgentStatus) => void;
  readonly onTransition?: (transition: PortTransition) => void;
}

export class StatusReporter {
  readonly #model: PortStatusModel;
  #status: AgentStatus;
  /** `<port>\0<code>` of the provider warnings of the last plan (counted once each). */
  #warningKeys = new Set<string>();
  /** Facts objects are reused while a port is unchanged (StatusFacts), and so is their state. */
  readonly #observations = new WeakMap<PortFacts, PortObservation>();

  constructor(private readonly o: StatusReporterOptions) {
    this.#model = new PortStatusModel({ now: () => o.clock.now() });
    this.#status = this.#build(o.clock.now());
  }

  /** The latest snapshot: ports as of the last round, header as of now (`/readyz` never lags). */
  status(): AgentStatus {
    const fresh = this.#header();
    if (sameHeader(this.#status, { ...this.#status, ...fresh })) return this.#status;
    return { ...this.#status, ...fresh, generatedAtMs: this.o.clock.now() };
  }

  /** Publishes a new header at once (the identity changed). */
  refresh(): void {
    this.#status = this.#build(this.o.clock.now());
    this.o.onStatus?.(this.#status);
  }

  /** Derives the ports' states from `facts`, reports transitions, publishes a changed snapshot. */
  publish(facts: readonly PortFacts[], now: number): void {
    this.#publish(this.#model.update(facts.map((f) => this.#observe(f))), now);
  }

  /** Like {@link publish} for the facts of some ports, and the ports `gone`; the others stay. */
  publishChanges(facts: readonly PortFacts[], gone: readonly string[], now: number): void {
    this.#publish(
      this.#model.updateSome(
        facts.map((f) => this.#observe(f)),
        gone,
      ),
      now,
    );
  }

  #publish(transitions: readonly PortTransition[], now: number): void {
    for (const t of transitions) this.#onTransition(t);
    const previous = this.#status;
    this.#status = this.#build(now);
    this.o.metrics?.recordSnapshot(this.#status);
    if (transitions.length > 0 || !sameHeader(previous, this.#status)) this.o.onStatus?.(this.#status);
  }

  /**
   * Logs a plan's warnings (rate-limited) and counts each provider warning (PlugReady.warnings) in
   * ovn_plug_provider_errors_total once when it appears on a port, not on every round it persists.
   */
  planWarnings(plan: Plan): void {
    const current = new Set<string>();
    for (const w of plan.warnings) {
      if (w.code === undefined) continue;
      const key = `${w.logicalPort}\u0000${w.code}`;
      current.add(key);
      if (!this.#warningKeys.has(key)) this.o.metrics?.providerError(w.plugType ?? '', w.code);
    }
    this.#warningKeys = current;
    for (const w of plan.warnings)
      this.o.rateLimited.log(
        'warn',
        `warn:${w.logicalPort}:${w.message}`,
        { logicalPort: w.logicalPort },
        w.message,
      );
  }

  #observe(facts: PortFacts): PortObservation {
    let observation = this.#observations.get(facts);
    if (observation === undefined) {
      observation = derivePortState(facts);
      this.#observations.set(facts, observation);
    }
    return observation;
  }

  #build(now: number): AgentStatus {
    const held = this.o.heldRemovals();
    const { chassis, integrationBridge, ...rest } = this.#header();
    return {
      chassis,
      ...(this.o.nodeName === undefined ? {} : { nodeName: this.o.nodeName }),
      integrationBridge,
      ...rest,
      ports: this.#model.ports(),
      ...(held === undefined ? {} : { heldRemovals: { count: held.count, untilMs: held.untilMs } }),
      generatedAtMs: now,
    };
  }

  #header(): StatusHeader & Pick<AgentStatus, 'providers'> {
    return {
      ...this.o.header(),
      providers: this.o.providers.list().map((p): ProviderStatus => ({
        type: p.type,
        available: p.available,
        ...(p.reason === undefined ? {} : { reason: p.reason }),
      })),
    };
  }

  #onTransition(t: PortTransition): void {
    const { metrics, logger, rateLimited } = this.o;
    if (t.plugLatencyMs !== undefined) metrics?.observePlugLatency(t.plugLatencyMs);
    if (t.bindLatencyMs !== undefined) metrics?.observeBindLatency(t.bindLatencyMs);
    const s = t.status;
    const fields = {
      logicalPort: t.logicalPort,
      state: t.to,
      from: t.from,
      reason: s.reason,
      interface: s.interfaceName,
      provider: s.provider,
    };
    if (t.to !== undefined && t.to !== t.from) {
      if (t.to === 'Conflict')
        rateLimited.log(
          'warn',
          `conflict:${t.logicalPort}`,
          { ...fields, message: s.message },
          'port conflict: left untouched',
        );
      else if (t.to === 'Failed')
        rateLimited.log('warn', `failed:${t.logicalPort}`, { ...fields, message: s.message }, 'port failed');
      else if (t.to === 'Bound') logger.info({ ...fields, bindLatencyMs: s.bindLatencyMs }, 'port bound');
      else if (t.to === 'Down') logger.info({ ...fields, message: s.message }, 'port link down');
      else logger.debug(fields, 'port state changed');
    }
    if ((t.to === 'Pending' || t.to === 'Failed') && t.from !== t.to && isProviderReason(s.reason))
      metrics?.providerError(s.provider, s.reason);
    if (t.to === undefined) logger.debug(fields, 'port no longer tracked');
    this.o.onTransition?.(t);
  }
}

function sameHeader(a: AgentStatus, b: AgentStatus): boolean {
  return (
    a.chassis === b.chassis &&
    a.integrationBridge === b.integrationBridge &&
    a.sb.remote === b.sb.remote &&
    a.sb.state === b.sb.state &&
    a.sb.synced === b.sb.synced &&
    a.ovs.state === b.ovs.state &&
    a.ovs.synced === b.ovs.synced &&
    a.heldRemovals?.untilMs === b.heldRemovals?.untilMs &&
    a.heldRemovals?.count === b.heldRemovals?.count &&
    JSON.stringify(a.providers) === JSON.stringify(b.providers)
  );
}
