/**
 * The reconciler: keeps the integration bridge equal to what the Southbound DB asks of this
 * chassis, one OVS transaction at a time.
 *
 * Model. The agent holds two replicas: the Southbound DB, monitored with a condition that limits
 * `Port_Binding` to rows requesting this chassis (main or additional), and the local Open vSwitch
 * DB (bridges, ports, interfaces). Neither replica's *events* drive decisions; they only say
 * "something may have changed". Every round reads both replicas whole and asks the pure planner
 * (src/plug) what to create, update, replug and remove. This level-triggered design makes the
 * reconciler indifferent to lost, duplicated or reordered notifications, to reconnects with full
 * resyncs, and to the lag between a transaction reply and the replica update that reflects it:
 * the next round simply sees the world as it is.
 *
 * Rounds. Changes, provider `run()` reports, the resync timer and reconnects all just mark the
 * reconciler dirty; a round runs on the next turn of the event loop, so a burst of updates (a
 * 1,000-port NB transaction arrives as a handful of messages) coalesces into one round. At most
 * ONE OVS transaction is in flight: while it is, rounds wait, and the outcome triggers the next
 * round. A round sends the *whole* plan in one transaction, guarded by `wait` (verify) operations
 * on every row value it read to compute it (the bridge's `ports`; each updated Interface's changed
 * columns and `external_ids`; each removed Port's `interfaces` and its Interface's
 * `external_ids`), so a concurrent writer makes the commit fail with `tryAgain` instead of
 * clobbering it.
 *
 * Outcomes. `success`: providers' `finish()` then `release()`; the next round waits until the OVS
 * replica has caught up with the commit, so a fresh create is never planned twice. `tryAgain`: the
 * replica was stale; release, wait for it to move, replan. `error`: the ports whose operations
 * failed get `Failed` with the server's error verbatim and are set aside with exponential backoff,
 * so one bad port cannot starve the others; when the error cannot be attributed to one operation
 * (a commit-time constraint violation), the ports of that transaction are later retried one per
 * transaction to find the culprit. `unknown` (connection lost or timed out while in flight): the
 * transaction may or may not have committed, so it is never resent; the reconciler waits until the
 * replica moves (or reconnects and resyncs) and plans from what it then shows — and its providers
 * get `finish` then `release` if the replica shows the transaction's rows, `release` only if not
 * (ADR 0089).
 *
 * Safety (DESIGN §3.4). Nothing is removed until both replicas are monitoring and the Southbound
 * condition for the current Chassis row is in effect (`canRemove`); a port the removal guard holds
 * (src/plug/removal-guard.ts: missing after a resync, an identity change or at start, or a mass
 * removal) stays until its grace ends; the agent never removes
 * anything on its own exit. Everything else — ownership markers, conflicts, maintained options —
 * is the planner's rule book.
 */
import {
  mutation,
  where,
  type ClientEvents,
  type ClientState,
  type MonitorCondition,
  type Mutation,
  type NamedUuid,
  type Row,
  type TableView,
  type TransactionBuilder,
  type TxnOutcome,
} from '../ovsdb/index.js';
import type { PlugRequest, PlugReady, PlugProvider } from '../plug/provider.js';
import type { OvsInterface } from '../plug/rows.js';
import type {
  Plan,
  PlannedCreate,
  PlannedRemove,
  PlannedReplug,
  PlannedUpdate,
  PlanInput,
  PreparedPlug,
  ProviderLookup,
} from '../plug/planner.js';
import type { ProviderState, RunAllResult } from '../plug/registry.js';
import type { Timer, Timers } from '../plug/clock.js';
import type { OwnershipKey } from '../plug/interface-columns.js';
import type { DesiredInterface, InterfaceChanges } from '../plug/interface-columns.js';
import { RateLimitedLog, type Logger } from './logger.js';
import type { AgentMetrics, ReplanTrigger } from './metrics.js';
import {
  RemovalGuard,
  describeHoldCause,
  type HoldCause,
  type RemovalGuardPolicy,
} from '../plug/removal-guard.js';
import { stringColumn, stringMap, toBridge, toInterface, toPort, toPortBinding } from './replica-rows.js';
import { ovsOtherConfigOf } from './replica-rows.js';
import {
  derivePortState,
  PortStatusModel,
  type InterfaceFacts,
  type PortFacts,
  type PortPhase,
  type PortTransition,
} from './status/model.js';
import type { AgentStatus, DbStatus, ProviderStatus } from './status/types.js';
import type { ReconcilerLivenessEvent } from './liveness.js';

/** Removal guard settings (DESIGN §3.4; see src/plug/removal-guard.ts). */
export type RemovalHoldPolicy = RemovalGuardPolicy;

/** The replica operations the reconciler uses (an {@link OvsdbClient} fits). */
export interface Replica {
  readonly state: ClientState;
  /** Incremented by every applied change batch. */
  readonly seqno: number;
  readonly currentRemote: string | undefined;
  table(name: string): TableView;
  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): unknown;
  off<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): unknown;
}

export interface OvsReplica extends Replica {
  transact(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome>;
}

export interface SbReplica extends Replica {
  /** Replaces a table's monitor condition; returns the condition seqno at which it is in effect. */
  setCondition(table: string, where: MonitorCondition): number;
  readonly conditionSeqno: number;
  /** Resolves once the condition change numbered `n` is in effect. */
  waitForConditionSeqno(n: number, options?: { signal?: AbortSignal }): Promise<void>;
}

/** The registry operations the reconciler uses (a `ProviderRegistry` fits). */
export interface ProviderSource {
  readonly lookup: ProviderLookup;
  list(): ProviderState[];
  runAll(): Promise<RunAllResult>;
}

export interface ReconcilerOptions {
  readonly sb: SbReplica;
  readonly ovs: OvsReplica;
  readonly providers: ProviderSource;
  readonly chassisName: string;
  readonly integrationBridge: string;
  readonly ownershipKey: OwnershipKey;
  /** Plug types in observe mode (DESIGN §3.5a): never written, reported from ovn-controller's interfaces. */
  readonly observePlugTypes?: ReadonlySet<string>;
  readonly removalHold: RemovalHoldPolicy;
  /** Periodic full replan; DESIGN default 30 s. */
  readonly resyncIntervalMs: number;
  /** How often providers' `run()` is called; default 1 s. */
  readonly providerRunIntervalMs?: number;
  readonly planner: (input: PlanInput) => Plan;
  readonly now: () => number;
  readonly timers: Timers;
  /**
   * Runs a round after the pending I/O of this event-loop turn (so a burst of update messages
   * coalesces); default `setImmediate`, which unlike a 0 ms timer adds no 1 ms clamp.
   */
  readonly defer?: (fn: () => void) => Timer;
  readonly logger: Logger;
  readonly metrics?: AgentMetrics;
  readonly nodeName?: string;
  /** Called with every new status snapshot (after each round that changed something). */
  readonly onStatus?: (status: AgentStatus) => void;
  /** Called with every port state transition (logs and metrics are handled here already). */
  readonly onTransition?: (transition: PortTransition) => void;
  /** Progress reports for the liveness monitor (src/agent/liveness.ts, ADR 0106). */
  readonly onLiveness?: (event: ReconcilerLivenessEvent) => void;
}

/** Why a round could not plan, shown on every port the agent owns meanwhile. */
type Gate =
  /** Until the replica shows the committed rows (inserted interfaces present, deleted ports gone). */
  | {
      readonly kind: 'afterCommit';
      readonly interfaces: readonly string[];
      readonly deletedPorts: readonly string[];
      readonly fromSeqno: number;
      readonly needsMove: boolean;
      readonly untilMs: number;
    }
  /** Until the replica applied anything new (after tryAgain or an unknown outcome). */
  | { readonly kind: 'replicaMoves'; readonly fromSeqno: number; readonly untilMs: number };

/** A port set aside after a failed transaction. */
interface Quarantine {
  readonly message: string;
  readonly untilMs: number;
  readonly failures: number;
  /** Retry alone: the error could not be attributed to one operation. */
  readonly isolate: boolean;
}

interface InFlight {
  readonly plug: ReadonlySet<string>;
  readonly unplug: ReadonlySet<string>;
}

/** One port's work in a transaction, with the operations it contributed (for error attribution). */
interface TxnPart {
  readonly logicalPort: string;
  readonly kind: 'create' | 'update' | 'replug' | 'remove';
  readonly prepared: readonly PreparedPlug[];
  /** Indexes of the operations only this port contributed. */
  readonly ops: number[];
}

/** What a transaction changes, to recognise it in the replica. */
interface TxnEffects {
  readonly insertedInterfaces: NamedUuid[];
  readonly deletedPorts: string[];
  updates: number;
}

/**
 * A transaction whose outcome was `unknown`: its ready answers are neither finished nor released
 * until the replica tells whether it committed (DESIGN §3.3: `finish` only after a commit,
 * `release` always). What it wrote is recognised by rows only this transaction could produce.
 */
interface UnsureTxn {
  readonly prepared: readonly PreparedPlug[];
  /** Interfaces it inserted: name, iface-id and our marker (their UUIDs never came back). */
  readonly inserted: readonly { readonly name: string; readonly logicalPort: string }[];
  readonly deletedPorts: readonly string[];
  readonly updates: readonly PlannedUpdate[];
}

const CATCH_UP_TIMEOUT_MS = 5_000;
const UNKNOWN_OUTCOME_WAIT_MS = 10_000;
const MAX_LOST_RACES = 3;
const QUARANTINE_BASE_MS = 1_000;
const QUARANTINE_MAX_MS = 30_000;

export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #model: PortStatusModel;
  readonly #rateLimited: RateLimitedLog;
  readonly #timers: Timer[] = [];
  readonly #quarantine = new Map<string, Quarantine>();
  readonly #txnErrors = new Map<string, string>();
  readonly #triggers = new Set<ReplanTrigger>();
  readonly #listeners: (() => void)[] = [];
  #roundTimer: Timer | undefined;
  #wakeTimer: Timer | undefined;
  #wakeAtMs = 0;
  #inFlight: InFlight | undefined;
  #inFlightPromise: Promise<void> | undefined;
  /** The parts of the transaction in flight, released by `stop()` if it outlasts the wait. */
  #inFlightParts: readonly TxnPart[] | undefined;
  /** Set by `stop()` once it released the answers of a transaction still in flight. */
  #abandoned = false;
  /** The answers of a transaction whose outcome was unknown, until the replica tells (ADR 0089). */
  #unsure: UnsureTxn | undefined;
  /** Consecutive commits lost to a concurrent writer's row of the same name (see #isLostNameRace). */
  #lostRaces = 0;
  #gate: Gate | undefined;
  readonly #guard: RemovalGuard;
  /** Held removals as of the last plan: `untilMs` is when the last held port's grace ends. */
  #hold: { readonly untilMs: number; readonly count: number } | undefined;
  /** Held ports already logged, with their cause (each hold is logged once). */
  readonly #loggedHolds = new Map<string, HoldCause>();
  #started = false;
  #stopped = false;
  #chassisUuid: string | undefined;
  #conditionChassis: string | undefined;
  #conditionSeqno = Number.POSITIVE_INFINITY;
  #sbSyncedOnce = false;
  /** The identity followed live (DESIGN §3.5a); starts from the options, changed by setIdentity. */
  #chassisName: string;
  #integrationBridge: string;
  /** Previous integration bridges whose owned Ports are still to be moved to the current one. */
  readonly #bridgesLeft = new Set<string>();
  readonly #connectedBefore = new Set<'sb' | 'ovs'>();
  readonly #abort = new AbortController();
  #sbReconnects = 0;
  #ovsReconnects = 0;
  #status: AgentStatus;
  #lastFacts: PortFacts[] | undefined;
  /** `<port>\0<code>` of the provider warnings of the last plan (counted once each). */
  #warningKeys = new Set<string>();
  #earliestNextRound = 0;
  #rounds = 0;
  #transactions = 0;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
    this.#chassisName = options.chassisName;
    this.#integrationBridge = options.integrationBridge;
    this.#guard = new RemovalGuard(options.removalHold);
    this.#model = new PortStatusModel({ now: options.now });
    this.#rateLimited = new RateLimitedLog(options.logger, options.now);
    this.#status = this.#buildStatus();
  }

  /** Subscribes to both replicas and starts the timers; the first round runs at once. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#o.sb.state === 'monitoring') this.#connectedBefore.add('sb');
    if (this.#o.ovs.state === 'monitoring') this.#connectedBefore.add('ovs');
    const onChange = (): void => this.schedule('change');
    const onSbState = (state: ClientState): void => this.#onState('sb', state);
    const onOvsState = (state: ClientState): void => this.#onState('ovs', state);
    const onSbReconnect = (): void => this.#onReconnect('sb');
    const onOvsReconnect = (): void => this.#onReconnect('ovs');
    const { sb, ovs } = this.#o;
    sb.on('change', onChange);
    sb.on('state', onSbState);
    sb.on('reconnect', onSbReconnect);
    ovs.on('change', onChange);
    ovs.on('state', onOvsState);
    ovs.on('reconnect', onOvsReconnect);
    this.#listeners.push(() => {
      sb.off('change', onChange);
      sb.off('state', onSbState);
      sb.off('reconnect', onSbReconnect);
      ovs.off('change', onChange);
      ovs.off('state', onOvsState);
      ovs.off('reconnect', onOvsReconnect);
    });
    this.#every(this.#o.resyncIntervalMs, () => this.schedule('timer'));
    this.#every(this.#o.providerRunIntervalMs ?? 1_000, () => void this.#runProviders());
    this.schedule('startup');
  }

  /**
   * Stops planning and waits (bounded) for the transaction in flight, whose providers still get
   * `finish`/`release`. Never removes anything: ports stay plugged across agent restarts.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    for (const timer of this.#timers) timer.cancel();
    this.#roundTimer?.cancel();
    this.#wakeTimer?.cancel();
    for (const off of this.#listeners) off();
    if (this.#inFlightPromise !== undefined) {
      await Promise.race([
        this.#inFlightPromise,
        new Promise<void>((resolve) => this.#o.timers.setTimer(resolve, 5_000)),
      ]);
    }
    // Still in flight: the agent is going away and will never look at its outcome (nor call
    // `finish`); its answers are released now, before the providers are destroyed.
    if (this.#inFlightPromise !== undefined && !this.#abandoned) {
      this.#abandoned = true;
      for (const part of this.#inFlightParts ?? [])
        for (const prepared of part.prepared) release(prepared, this.#o.logger);
    }
    // An unknown outcome nobody will look at again: its answers are no longer needed.
    this.#settleUnsure(false);
  }

  /**
   * The latest status snapshot: ports as of the last round, database connections and providers
   * as of now (so `/readyz` never lags behind a connection change).
   */
  status(): AgentStatus {
    const fresh = this.#buildHeader();
    if (sameHeader(this.#status, { ...this.#status, ...fresh })) return this.#status;
    return { ...this.#status, ...fresh, generatedAtMs: this.#o.now() };
  }

  /**
   * Follows a changed identity while running (DESIGN §3.5a): the chassis name (`system-id`) and
   * the integration bridge (`ovn-bridge`). A new chassis name points the SB `Chassis` condition at
   * the new name; until the SB shows that Chassis row and the `Port_Binding` condition for it is in
   * effect, nothing is removed (`canRemove`), so a re-provisioned DPU keeps its ports while the new
   * Chassis row is being created. A new integration bridge moves the Ports the agent owns on the
   * previous one to it (same rows: no unplug/replug) once it exists, and plans there from then on.
   */
  setIdentity(identity: { readonly chassisName: string; readonly integrationBridge: string }): void {
    const changes: Record<string, { from: string; to: string }> = {};
    if (identity.chassisName !== this.#chassisName) {
      changes['chassis'] = { from: this.#chassisName, to: identity.chassisName };
      this.#chassisName = identity.chassisName;
      this.#chassisUuid = undefined;
      this.#o.sb.setCondition('Chassis', [where('name', '==', identity.chassisName)]);
    }
    if (identity.integrationBridge !== this.#integrationBridge) {
      changes['integrationBridge'] = { from: this.#integrationBridge, to: identity.integrationBridge };
      this.#bridgesLeft.add(this.#integrationBridge);
      this.#bridgesLeft.delete(identity.integrationBridge);
      this.#integrationBridge = identity.integrationBridge;
    }
    if (Object.keys(changes).length === 0) return;
    this.#o.logger.info(changes, 'identity changed: following it');
    this.#status = this.#buildStatus();
    this.#o.onStatus?.(this.#status);
    this.schedule('change');
  }

  /** Counters for tests and the benchmark. */
  get stats(): { readonly rounds: number; readonly transactions: number } {
    return { rounds: this.#rounds, transactions: this.#transactions };
  }

  /** Marks the reconciler dirty; a round runs on the next turn of the event loop. */
  schedule(trigger: ReplanTrigger): void {
    if (this.#stopped) return;
    this.#triggers.add(trigger);
    this.#o.onLiveness?.('requested');
    if (this.#roundTimer !== undefined || this.#inFlight !== undefined) return;
    const run = (): void => {
      this.#roundTimer = undefined;
      if (this.#stopped) return;
      this.#o.onLiveness?.('round');
      const started = performance.now();
      try {
        this.#round();
      } catch (error) {
        // A bug or a malformed row must not kill the agent: log, and try again a little later.
        this.#rateLimited.log('error', 'round', { err: error }, 'reconcile round failed');
        this.#wakeAt(this.#o.now() + 1_000);
      }
      // Duty-cycle cap: with a steady stream of updates (thousands of ports being bound), a round
      // as long as the last one must pass before the next, so planning takes at most half a core.
      const elapsed = performance.now() - started;
      this.#earliestNextRound = elapsed >= 1 ? this.#o.now() + elapsed : 0;
    };
    const wait = this.#earliestNextRound - this.#o.now();
    this.#roundTimer =
      wait > 0 ? this.#o.timers.setTimer(run, wait) : (this.#o.defer ?? deferToCheckPhase)(run);
  }

  #every(intervalMs: number, fn: () => void): void {
    const arm = (): void => {
      const timer = this.#o.timers.setTimer(() => {
        const i = this.#timers.indexOf(timer);
        if (i !== -1) this.#timers.splice(i, 1);
        if (this.#stopped) return;
        fn();
        arm();
      }, intervalMs);
      this.#timers.push(timer);
    };
    arm();
  }

  /**
   * Wakes a round at `atMs` (gate expiry, hold expiry, quarantine end). One timer serves all
   * deadlines: it keeps the earliest, and the round it wakes re-arms the later ones.
   */
  #wakeAt(atMs: number): void {
    if (this.#wakeTimer !== undefined && this.#wakeAtMs <= atMs) return;
    const delay = Math.max(0, atMs - this.#o.now());
    this.#wakeTimer?.cancel();
    this.#wakeAtMs = atMs;
    this.#wakeTimer = this.#o.timers.setTimer(() => {
      this.#wakeTimer = undefined;
      this.schedule('retry');
    }, delay + 1);
  }

  #onState(db: 'sb' | 'ovs', state: ClientState): void {
    if (state === 'monitoring' && db === 'sb') this.#sbSyncedOnce = true;
    this.schedule('reconnect');
  }

  #onReconnect(db: 'sb' | 'ovs'): void {
    // Every (re)sync of the Southbound DB begins a session whose first view the removal guard
    // distrusts (DESIGN §3.4 cases 2 and 5): a reconnect, a resume, a re-monitor after cancellation.
    if (db === 'sb') this.#guard.beginSession(this.#connectedBefore.has('sb') ? 'resync' : 'startup');
    // The client reports its first connection too; only later ones are reconnects.
    if (!this.#connectedBefore.has(db)) {
      this.#connectedBefore.add(db);
      this.schedule('reconnect');
      return;
    }
    if (db === 'sb') this.#sbReconnects += 1;
    else this.#ovsReconnects += 1;
    this.#o.metrics?.dbReconnected(db);
    this.schedule('reconnect');
  }

  async #runProviders(): Promise<void> {
    let result: RunAllResult;
    try {
      result = await this.#o.providers.runAll();
    } catch (error) {
      this.#o.logger.error({ err: error }, 'provider run round failed');
      return;
    }
    for (const failure of result.failed) {
      this.#o.metrics?.providerError(failure.type, 'RunFailed');
      this.#rateLimited.log(
        'warn',
        `run:${failure.type}`,
        { provider: failure.type, error: failure.message },
        'provider run() failed',
      );
    }
    if (result.changed.length > 0) this.schedule('provider');
  }

  /** Finds our Chassis row and keeps the Port_Binding condition pointed at it. */
  #trackChassis(): void {
    let uuid: string | undefined;
    for (const row of this.#o.sb.table('Chassis').all()) {
      if (stringColumn(row, 'name') === this.#chassisName) uuid = row._uuid;
    }
    this.#chassisUuid = uuid;
    if (uuid === undefined || uuid === this.#conditionChassis) return;
    // A new Chassis row (re-registration, a restored DB, a new system-id): DESIGN §3.4 case 3.
    this.#guard.beginSession('identity');
    this.#conditionChassis = uuid;
    this.#conditionSeqno = this.#o.sb.setCondition('Port_Binding', [
      where('requested_chassis', '==', uuid),
      where('requested_additional_chassis', 'includes', [uuid]),
    ]);
    this.#o.logger.info(
      { chassis: this.#chassisName, chassisUuid: uuid },
      'monitoring port bindings requesting this chassis',
    );
    // The condition taking effect may bring no rows (and so no change event), yet it is what
    // allows removals and makes the SB ready: replan when it is in effect.
    const seqno = this.#conditionSeqno;
    this.#o.sb.waitForConditionSeqno(seqno, { signal: this.#abort.signal }).then(
      () => this.schedule('change'),
      () => undefined,
    );
  }

  /** Both replicas monitoring, and the SB condition for the current Chassis row in effect. */
  #canRemove(): boolean {
    return (
      this.#o.ovs.state === 'monitoring' &&
      this.#o.sb.state === 'monitoring' &&
      this.#chassisUuid !== undefined &&
      this.#chassisUuid === this.#conditionChassis &&
      this.#o.sb.conditionSeqno >= this.#conditionSeqno
    );
  }

  #gateOpen(now: number): boolean {
    const gate = this.#gate;
    if (gate === undefined) return true;
    const seqno = this.#o.ovs.seqno;
    let open: boolean;
    if (gate.kind === 'afterCommit') {
      const ifaces = this.#o.ovs.table('Interface');
      const ports = this.#o.ovs.table('Port');
      open =
        (!gate.needsMove || seqno > gate.fromSeqno) &&
        gate.interfaces.every((uuid) => ifaces.get(uuid) !== undefined) &&
        gate.deletedPorts.every((uuid) => ports.get(uuid) === undefined);
    } else {
      open = seqno > gate.fromSeqno;
    }
    if (open || now >= gate.untilMs) {
      this.#gate = undefined;
      if (this.#unsure !== undefined) this.#settleUnsure(this.#showsCommitted(this.#unsure));
      return true;
    }
    this.#wakeAt(gate.untilMs);
    return false;
  }

  #round(): void {
    if (this.#stopped || this.#inFlight !== undefined) return;
    for (const trigger of this.#triggers) this.#o.metrics?.replan(trigger);
    this.#triggers.clear();
    const started = performance.now();
    const now = this.#o.now();
    this.#rounds += 1;
    if (this.#o.sb.state === 'monitoring') this.#sbSyncedOnce = true;
    this.#trackChassis();

    const ovsReady = this.#o.ovs.state === 'monitoring';
    if (!ovsReady || !this.#sbSyncedOnce || this.#chassisUuid === undefined) {
      // Until the first plan, show the ports we own as kept; afterwards keep the last plan's view.
      this.#publish(this.#lastFacts ?? this.#factsWithoutPlan(), now);
      this.#o.metrics?.observeReconcile(performance.now() - started);
      return;
    }
    // Waiting for the replica to show our last commit: the next round (armed) publishes, so a
    // port never flips back from Plugging to Pending while its rows are on their way.
    if (!this.#gateOpen(now)) return;
    if (this.#moveToIntegrationBridge()) return;

    const canRemove = this.#canRemove();
    const plan = this.#o.planner({
      chassisUuid: this.#chassisUuid,
      integrationBridge: this.#integrationBridge,
      portBindings: this.#o.sb.table('Port_Binding').all().map(toPortBinding),
      bridges: this.#o.ovs.table('Bridge').all().map(toBridge),
      ports: this.#o.ovs.table('Port').all().map(toPort),
      interfaces: this.#o.ovs.table('Interface').all().map(toInterface),
      ovsOtherConfig: ovsOtherConfigOf(this.#o.ovs.table('Open_vSwitch').all()[0]),
      providers: this.#o.providers.lookup,
      config: {
        ownershipKey: this.#o.ownershipKey,
        canRemove,
        ...(this.#o.observePlugTypes === undefined ? {} : { observePlugTypes: this.#o.observePlugTypes }),
      },
      reviewRemovals: (ports) =>
        this.#guard.review({ ...ports, nowMs: now, sbInEffect: this.#canRemoveSb() }),
    });
    for (const prepared of plan.release) release(prepared, this.#o.logger);
    this.#countProviderWarnings(plan);
    for (const warning of plan.warnings) {
      this.#rateLimited.log(
        'warn',
        `warn:${warning.logicalPort}:${warning.message}`,
        { logicalPort: warning.logicalPort },
        warning.message,
      );
    }

    this.#trackHolds(plan);
    const parts = this.#selectParts(plan, now);
    if (parts.length > 0) {
      // Only a port no longer wanted is Unplugging; a wanted port losing a duplicate interface is not.
      const unwanted = new Set(plan.remove.filter((r) => r.reason === 'NotWanted').map((r) => r.logicalPort));
      const takenOver = new Map(plan.replug.map((r) => [r.logicalPort, r.old]));
      const unplug = new Set<string>();
      for (const p of parts) {
        if (p.kind === 'remove' && unwanted.has(p.logicalPort)) unplug.add(p.logicalPort);
        const old = p.kind === 'replug' ? takenOver.get(p.logicalPort) : undefined;
        if (old?.reason === 'TakenOver') unplug.add(old.logicalPort);
      }
      this.#inFlight = {
        plug: new Set(parts.filter((p) => p.kind !== 'remove').map((p) => p.logicalPort)),
        unplug,
      };
      // Send first (the request leaves synchronously), then report: status never delays a plug.
      this.#inFlightPromise = this.#transact(plan, parts);
    }
    const facts = this.#factsFromPlan(plan, parts);
    this.#lastFacts = facts;
    this.#publish(parts.length > 0 ? this.#factsWithInFlight(facts) : facts, now);
    this.#o.metrics?.observeReconcile(performance.now() - started);
  }

  /**
   * Publishes the removal guard's holds (DESIGN §3.4): status and metric, one log line per newly
   * held port group, and a wake-up when the earliest grace ends.
   */
  #trackHolds(plan: Plan): void {
    const held = new Map<string, number>();
    const fresh = new Map<HoldCause, string[]>();
    for (const h of plan.held) {
      held.set(h.logicalPort, h.hold.untilMs);
      if (this.#loggedHolds.get(h.logicalPort) === h.hold.cause) continue;
      this.#loggedHolds.set(h.logicalPort, h.hold.cause);
      const list = fresh.get(h.hold.cause) ?? [];
      list.push(h.logicalPort);
      fresh.set(h.hold.cause, list);
    }
    for (const name of this.#loggedHolds.keys()) if (!held.has(name)) this.#loggedHolds.delete(name);
    for (const [cause, ports] of fresh) {
      this.#o.logger.warn(
        {
          cause,
          removals: ports.length,
          owned: plan.ownedCount,
          graceMs: this.#o.removalHold.graceMs,
          ports: ports.slice(0, 10),
        },
        `removal held: ${describeHoldCause(cause)}`,
      );
    }
    if (held.size === 0) {
      this.#hold = undefined;
      return;
    }
    const deadlines = [...held.values()];
    this.#hold = { untilMs: Math.max(...deadlines), count: held.size };
    this.#wakeAt(Math.min(...deadlines));
  }

  /**
   * Chooses this round's work: everything except quarantined ports; when a quarantined port's
   * backoff ended and it must be retried alone, only that port.
   */
  #selectParts(plan: Plan, now: number): TxnPart[] {
    const all: { part: TxnPart; logicalPort: string }[] = [];
    // A port may have several parts (an update and a duplicate's removal): they share one list of
    // operation indexes, since errors are attributed to ports.
    const opsByPort = new Map<string, number[]>();
    const add = (logicalPort: string, kind: TxnPart['kind'], prepared: PreparedPlug[]): void => {
      const ops = opsByPort.get(logicalPort) ?? [];
      opsByPort.set(logicalPort, ops);
      all.push({ logicalPort, part: { logicalPort, kind, prepared, ops } });
    };
    for (const c of plan.create) add(c.logicalPort, 'create', [c.prepared]);
    for (const u of plan.update) add(u.logicalPort, 'update', [u.prepared]);
    for (const r of plan.replug)
      add(
        r.logicalPort,
        'replug',
        r.old.prepared === undefined ? [r.prepared] : [r.old.prepared, r.prepared],
      );
    for (const r of plan.remove) add(r.logicalPort, 'remove', r.prepared === undefined ? [] : [r.prepared]);
    // A quarantined removal never blocks a wanted port that needs its name (DESIGN §3.4).
    // (A created Port is named after its Interface.)
    const claimed = new Set([...plan.create, ...plan.replug].map((c) => c.interface.name));
    const unblocks = new Set(
      plan.remove.filter((r) => claimed.has(r.interfaceName)).map((r) => r.logicalPort),
    );

    let isolated: string | undefined;
    const chosen: TxnPart[] = [];
    const skipped: TxnPart[] = [];
    for (const { part, logicalPort } of all) {
      const q = this.#quarantine.get(logicalPort);
      if (q !== undefined && now < q.untilMs && !(part.kind === 'remove' && unblocks.has(logicalPort))) {
        skipped.push(part);
        this.#wakeAt(q.untilMs);
        continue;
      }
      if (q?.isolate === true && isolated === undefined) isolated = logicalPort;
      chosen.push(part);
    }
    let result = chosen;
    if (isolated !== undefined) {
      result = chosen.filter((p) => p.logicalPort === isolated);
      skipped.push(...chosen.filter((p) => p.logicalPort !== isolated));
      this.schedule('retry');
    }
    for (const part of skipped) for (const prepared of part.prepared) release(prepared, this.#o.logger);
    return result;
  }

  async #transact(plan: Plan, parts: TxnPart[]): Promise<void> {
    this.#inFlightParts = parts;
    // One entry per port (its parts share their op-index list, see #selectParts).
    const byPort = new Map<string, TxnPart>();
    for (const part of parts) if (!byPort.has(part.logicalPort)) byPort.set(part.logicalPort, part);
    const chosen = (kind: TxnPart['kind'], logicalPort: string): boolean =>
      parts.some((p) => p.kind === kind && p.logicalPort === logicalPort);
    const creates = plan.create.filter((c) => chosen('create', c.logicalPort));
    const updates = plan.update.filter((u) => chosen('update', u.logicalPort));
    const replugs = plan.replug.filter((r) => chosen('replug', r.logicalPort));
    const removals = plan.remove.filter((r) => chosen('remove', r.logicalPort));
    const sentAtSeqno = this.#o.ovs.seqno;
    const startedMs = this.#o.now();
    const effects: TxnEffects = { insertedInterfaces: [], deletedPorts: [], updates: 0 };
    const outcome = await this.#transactOvs((tx) => {
      for (const part of parts) part.ops.length = 0;
      effects.insertedInterfaces.length = 0;
      effects.deletedPorts.length = 0;
      effects.updates = 0;
      this.#buildTransaction(tx, { creates, updates, replugs, removals }, byPort, effects);
    });
    if (this.#abandoned) return;
    const lostRace = this.#isLostNameRace(outcome);
    this.#lostRaces = lostRace ? this.#lostRaces + 1 : 0;
    const now = this.#o.now();
    switch (outcome.status) {
      case 'success':
      case 'unchanged':
        for (const part of parts) {
          this.#quarantine.delete(part.logicalPort);
          this.#txnErrors.delete(part.logicalPort);
          for (const prepared of part.prepared) finish(prepared, this.#o.logger);
        }
        this.#logCommitted(creates, updates, replugs, removals, now - startedMs);
        this.#gate = {
          kind: 'afterCommit',
          interfaces: effects.insertedInterfaces.flatMap((ref) => {
            const uuid = outcome.status === 'success' ? outcome.uuids.get(ref) : undefined;
            return uuid === undefined ? [] : [uuid];
          }),
          deletedPorts: effects.deletedPorts,
          fromSeqno: sentAtSeqno,
          needsMove: effects.updates > 0,
          untilMs: now + CATCH_UP_TIMEOUT_MS,
        };
        break;
      case 'tryAgain':
        this.#o.logger.debug(
          { reason: outcome.reason },
          'OVS transaction must be rebuilt from the fresh replica',
        );
        this.#gate = { kind: 'replicaMoves', fromSeqno: sentAtSeqno, untilMs: now + CATCH_UP_TIMEOUT_MS };
        break;
      case 'unknown':
        this.#o.logger.warn(
          { reason: outcome.reason, ports: parts.length },
          'OVS transaction outcome unknown; replanning once the replica catches up',
        );
        this.#gate = { kind: 'replicaMoves', fromSeqno: sentAtSeqno, untilMs: now + UNKNOWN_OUTCOME_WAIT_MS };
        this.#unsure = {
          prepared: parts.flatMap((p) => p.prepared),
          inserted: [...creates, ...replugs].map((c) => ({
            name: c.interface.name,
            logicalPort: c.logicalPort,
          })),
          deletedPorts: effects.deletedPorts.slice(),
          updates,
        };
        // Stopped meanwhile: nobody will look at the replica again.
        if (this.#stopped) this.#settleUnsure(false);
        break;
      case 'notLocked':
      case 'error': {
        if (lostRace) {
          this.#o.logger.info(
            {
              details: outcome.status === 'error' ? outcome.details : undefined,
              ports: parts.map((p) => p.logicalPort).slice(0, 10),
            },
            'OVS transaction lost a name race to another writer; replanning from the fresh replica',
          );
          this.#gate = { kind: 'replicaMoves', fromSeqno: sentAtSeqno, untilMs: now + CATCH_UP_TIMEOUT_MS };
          break;
        }
        const message =
          outcome.status === 'error'
            ? `${outcome.error}${outcome.details === undefined ? '' : `: ${outcome.details}`}`
            : 'not locked';
        const culprit =
          outcome.status === 'error'
            ? parts.find((p) => outcome.opIndex !== undefined && p.ops.includes(outcome.opIndex))
            : undefined;
        const failed = culprit === undefined ? parts : [culprit];
        for (const part of failed) {
          const previous = this.#quarantine.get(part.logicalPort);
          const failures = (previous?.failures ?? 0) + 1;
          const backoff = Math.min(QUARANTINE_MAX_MS, QUARANTINE_BASE_MS * 2 ** (failures - 1));
          this.#quarantine.set(part.logicalPort, {
            message,
            untilMs: now + backoff,
            failures,
            isolate: culprit === undefined && parts.length > 1,
          });
          this.#txnErrors.set(part.logicalPort, message);
          this.#rateLimited.log(
            'warn',
            `txn:${part.logicalPort}`,
            { logicalPort: part.logicalPort, error: message, retryInMs: backoff },
            'OVS transaction failed for port',
          );
        }
        break;
      }
    }
    if (outcome.status !== 'unknown')
      for (const part of parts) for (const prepared of part.prepared) release(prepared, this.#o.logger);
    this.#inFlight = undefined;
    this.#inFlightPromise = undefined;
    this.#inFlightParts = undefined;
    this.schedule('retry');
  }

  /** Sends one OVS transaction, counted in the metrics; a throw is an `rpc` error outcome. */
  async #transactOvs(build: (tx: TransactionBuilder) => void): Promise<TxnOutcome> {
    this.#transactions += 1;
    let outcome: TxnOutcome;
    this.#o.onLiveness?.('sent');
    try {
      outcome = await this.#o.ovs.transact(build);
    } catch (error) {
      outcome = {
        status: 'error',
        scope: 'rpc',
        error: error instanceof Error ? error.message : String(error),
      };
    }
    this.#o.onLiveness?.('outcome');
    this.#o.metrics?.transaction(
      this.#isLostNameRace(outcome) ? 'conflict' : outcome.status === 'unchanged' ? 'empty' : outcome.status,
    );
    return outcome;
  }

  /**
   * A commit-time uniqueness violation against a row that "existed in the database before this
   * transaction" means another writer committed a Port or Interface of the same name after the
   * plan read the replica. (When that writer plugged onto the integration bridge — ovn-controller's
   * built-in plugging winning the race for the same port, DESIGN §3.5a — the verify on the
   * bridge's `ports` already turns the race into `tryAgain`; this covers a same-name row anywhere
   * else.) The planner never claims a name the replica shows taken, so this is a stale replica,
   * as with `tryAgain`: no port is failed or set aside; the next round plans from the replica once
   * it shows the other writer's row. Counted as outcome `conflict`; bounded (consecutive lost
   * races) so that a violation the replica cannot explain still ends in the error path.
   */
  #isLostNameRace(outcome: TxnOutcome): boolean {
    return (
      outcome.status === 'error' &&
      outcome.error === 'constraint violation' &&
      (outcome.details ?? '').includes('existed in the database before this transaction') &&
      this.#lostRaces < MAX_LOST_RACES
    );
  }

  /** Whether the replica shows what the unsure transaction wrote (it commits atomically: any part will do). */
  #showsCommitted(unsure: UnsureTxn): boolean {
    const ifaces = this.#o.ovs.table('Interface');
    if (unsure.inserted.length > 0) {
      const byName = new Map(ifaces.all().map((row) => [stringColumn(row, 'name'), row]));
      for (const { name, logicalPort } of unsure.inserted) {
        const row = byName.get(name);
        if (row === undefined) continue;
        const ids = stringMap(row, 'external_ids');
        if (ids['iface-id'] === logicalPort && ids[this.#o.ownershipKey] !== undefined) return true;
      }
    }
    const ports = this.#o.ovs.table('Port');
    if (unsure.deletedPorts.some((uuid) => ports.get(uuid) === undefined)) return true;
    return unsure.updates.some((u) => {
      const row = ifaces.get(u.interfaceUuid);
      return row !== undefined && updateApplied(row, u.changes);
    });
  }

  /** Ends an unknown outcome: `finish` each answer when it committed, then `release` each. */
  #settleUnsure(committed: boolean): void {
    const unsure = this.#unsure;
    if (unsure === undefined) return;
    this.#unsure = undefined;
    this.#o.logger.info(
      { committed, answers: unsure.prepared.length },
      committed
        ? 'the replica shows the transaction with an unknown outcome committed'
        : 'the replica does not show the transaction with an unknown outcome',
    );
    if (committed) for (const prepared of unsure.prepared) finish(prepared, this.#o.logger);
    for (const prepared of unsure.prepared) release(prepared, this.#o.logger);
  }

  /**
   * Translates the chosen plan entries into one verify-guarded transaction. Records, per port, the
   * indexes of the operations it contributed (for error attribution) and the Interface rows it
   * inserts and the Port rows it deletes (to know when the replica shows the commit).
   */
  #buildTransaction(
    tx: TransactionBuilder,
    work: {
      creates: readonly PlannedCreate[];
      updates: readonly PlannedUpdate[];
      replugs: readonly PlannedReplug[];
      removals: readonly PlannedRemove[];
    },
    byPort: ReadonlyMap<string, TxnPart>,
    effects: TxnEffects,
  ): void {
    let next = 0;
    const op = (logicalPort: string | undefined): void => {
      if (logicalPort !== undefined) byPort.get(logicalPort)?.ops.push(next);
      next += 1;
    };
    const bridge = this.#bridgeRow();
    if (bridge === undefined) return;
    const addPorts: NamedUuid[] = [];
    const deletePorts: string[] = [];
    const bridgeUsers: string[] = [];
    // Verify waits are merged per row and placed before every write by the builder: the write
    // operations' indexes are shifted by their number at the end.
    const verified = new Set<string>();
    if (work.creates.length > 0 || work.replugs.length > 0 || work.removals.length > 0) {
      tx.verify('Bridge', bridge, ['ports']);
      verified.add(bridge._uuid);
    }
    const insertPort = (logicalPort: string, desired: DesiredInterface): void => {
      const iface = tx.insert('Interface', {
        name: desired.name,
        type: desired.type,
        options: new Map(Object.entries(desired.options)),
        external_ids: new Map(Object.entries(desired.externalIds)),
        ...(desired.mtuRequest === undefined ? {} : { mtu_request: desired.mtuRequest }),
      });
      op(logicalPort);
      const port = tx.insert('Port', { name: desired.name, interfaces: [iface] });
      op(logicalPort);
      effects.insertedInterfaces.push(iface);
      addPorts.push(port);
      bridgeUsers.push(logicalPort);
    };
    for (const c of work.creates) insertPort(c.logicalPort, c.interface);
    const portTable = this.#o.ovs.table('Port');
    const ifaceTable = this.#o.ovs.table('Interface');
    /**
     * Deleting a Port from the bridge deletes it and ALL its interfaces, so the rows the planner
     * judged by — the Port's `interfaces` (ours is its only one) and our Interface's
     * `external_ids` (ownership marker, iface-id) — are verified as read. A `wait` compares whole
     * columns, so an unrelated concurrent `external_ids` write (ovn-controller setting or clearing
     * `ovn-installed`) also turns the commit into `tryAgain`: one replan after the replica shows
     * that write, bounded by the writer's own rate; the alternative, a key-level `includes`
     * condition, would fail as an error rather than as a verify (tryAgain).
     */
    const verifyRemoval = (r: PlannedRemove): void => {
      const portRow = portTable.get(r.portUuid);
      const ifaceRow = ifaceTable.get(r.interfaceUuid);
      if (portRow !== undefined) {
        tx.verify('Port', portRow, ['interfaces']);
        verified.add(portRow._uuid);
      }
      if (ifaceRow !== undefined) {
        tx.verify('Interface', ifaceRow, ['external_ids']);
        verified.add(ifaceRow._uuid);
      }
    };
    for (const r of work.replugs) {
      verifyRemoval(r.old);
      deletePorts.push(r.old.portUuid);
      insertPort(r.logicalPort, r.interface);
    }
    for (const r of work.removals) {
      verifyRemoval(r);
      deletePorts.push(r.portUuid);
      bridgeUsers.push(r.logicalPort);
    }
    effects.deletedPorts.push(...deletePorts);
    if (addPorts.length > 0 || deletePorts.length > 0) {
      const mutations: Mutation[] = [];
      if (deletePorts.length > 0) mutations.push(mutation('ports', 'delete', deletePorts));
      if (addPorts.length > 0) mutations.push(mutation('ports', 'insert', addPorts));
      tx.mutate('Bridge', bridge._uuid, mutations);
      // Shared by every port that adds or removes a Port: attributable only when it is the only one.
      op(bridgeUsers.length === 1 ? bridgeUsers[0] : undefined);
    }
    for (const u of work.updates) {
      const row = ifaceTable.get(u.interfaceUuid);
      if (row === undefined) continue;
      const c = u.changes;
      // external_ids always: the update is ours to make only while the marker says so.
      const verifyColumns: string[] = ['external_ids'];
      if (c.type !== undefined) verifyColumns.push('type');
      if (Object.keys(c.setOptions).length > 0 || c.deleteOptions.length > 0) verifyColumns.push('options');
      if (c.mtuRequest !== undefined) verifyColumns.push('mtu_request');
      if (verifyColumns.length === 1 && Object.keys(c.setExternalIds).length === 0) continue;
      effects.updates += 1;
      tx.verify('Interface', row, verifyColumns);
      verified.add(row._uuid);
      const mutations = mapMutations(row, 'options', c.setOptions, c.deleteOptions).concat(
        mapMutations(row, 'external_ids', c.setExternalIds, []),
      );
      if (mutations.length > 0) {
        tx.mutate('Interface', row._uuid, mutations);
        op(u.logicalPort);
      }
      const columns: Record<string, string | number | undefined> = {};
      if (c.type !== undefined) columns['type'] = c.type;
      if (c.mtuRequest !== undefined)
        columns['mtu_request'] = c.mtuRequest.kind === 'set' ? c.mtuRequest.value : undefined;
      if (Object.keys(columns).length > 0) {
        tx.update('Interface', row._uuid, columns);
        op(u.logicalPort);
      }
    }
    for (const part of byPort.values()) part.ops.forEach((index, i) => (part.ops[i] = index + verified.size));
  }

  /**
   * After an integration bridge change: moves the Ports the agent owns (every interface carries
   * `iface-id` and the marker) from the previous integration bridges to the current one, in one
   * transaction verify-guarded on each moved Interface's `external_ids`. Returns true when a move
   * was sent (the round ends; its outcome schedules the next). Until the new bridge exists the
   * planner reports it missing and nothing moves.
   */
  #moveToIntegrationBridge(): boolean {
    if (this.#bridgesLeft.size === 0) return false;
    const bridges = this.#o.ovs.table('Bridge').all();
    const target = bridges.find((row) => stringColumn(row, 'name') === this.#integrationBridge);
    if (target === undefined) return false;
    const portTable = this.#o.ovs.table('Port');
    const ifaceTable = this.#o.ovs.table('Interface');
    const moves: { bridge: Row; ports: string[]; ifaces: Row[]; logicalPorts: string[] }[] = [];
    for (const name of this.#bridgesLeft) {
      const bridge = bridges.find((row) => stringColumn(row, 'name') === name);
      if (bridge === undefined) continue;
      const move = { bridge, ports: [] as string[], ifaces: [] as Row[], logicalPorts: [] as string[] };
      for (const portUuid of toBridge(bridge).ports) {
        const port = portTable.get(portUuid);
        if (port === undefined) continue;
        const rows = toPort(port).interfaces.map((uuid) => ifaceTable.get(uuid));
        const owned = rows.every((row) => {
          if (row === undefined) return false;
          const ids = toInterface(row).externalIds;
          return ids['iface-id'] !== undefined && ids[this.#o.ownershipKey] !== undefined;
        });
        if (!owned || rows.length === 0) continue;
        move.ports.push(portUuid);
        for (const row of rows) {
          if (row === undefined) continue;
          move.ifaces.push(row);
          move.logicalPorts.push(toInterface(row).externalIds['iface-id'] ?? '');
        }
      }
      if (move.ports.length > 0) moves.push(move);
    }
    if (moves.length === 0) {
      this.#bridgesLeft.clear();
      return false;
    }
    const from = moves.map((m) => stringColumn(m.bridge, 'name'));
    const to = this.#integrationBridge;
    const logicalPorts = moves.flatMap((m) => m.logicalPorts);
    this.#inFlight = { plug: new Set(logicalPorts), unplug: new Set() };
    const sentAtSeqno = this.#o.ovs.seqno;
    this.#inFlightPromise = (async () => {
      const outcome = await this.#transactOvs((tx) => {
        for (const m of moves) {
          for (const row of m.ifaces) tx.verify('Interface', row, ['external_ids']);
          tx.mutate('Bridge', m.bridge._uuid, [mutation('ports', 'delete', m.ports)]);
        }
        tx.mutate('Bridge', target._uuid, [
          mutation(
            'ports',
            'insert',
            moves.flatMap((m) => m.ports),
          ),
        ]);
      });
      const now = this.#o.now();
      if (outcome.status === 'success' || outcome.status === 'unchanged') {
        this.#o.logger.info(
          { from, to, ports: logicalPorts },
          'moved owned ports to the new integration bridge',
        );
      } else if (outcome.status === 'error' || outcome.status === 'notLocked') {
        // Not retried: the planner then reports each port's name as taken on the old bridge.
        this.#bridgesLeft.clear();
        this.#o.logger.warn(
          { from, to, ports: logicalPorts, outcome },
          'could not move owned ports to the new integration bridge',
        );
      }
      this.#gate = { kind: 'replicaMoves', fromSeqno: sentAtSeqno, untilMs: now + CATCH_UP_TIMEOUT_MS };
      this.#inFlight = undefined;
      this.#inFlightPromise = undefined;
      this.schedule('retry');
    })();
    return true;
  }

  #bridgeRow(): Row | undefined {
    return this.#o.ovs
      .table('Bridge')
      .all()
      .find((row) => stringColumn(row, 'name') === this.#integrationBridge);
  }

  #logCommitted(
    creates: readonly PlannedCreate[],
    updates: readonly PlannedUpdate[],
    replugs: readonly PlannedReplug[],
    removals: readonly PlannedRemove[],
    ms: number,
  ): void {
    const log = this.#o.logger;
    for (const c of creates)
      log.info(
        { logicalPort: c.logicalPort, interface: c.interface.name, provider: c.plugType, ms },
        'plugged port',
      );
    for (const r of replugs) {
      log.info(
        {
          logicalPort: r.logicalPort,
          interface: r.interface.name,
          oldInterface: r.old.interfaceName,
          provider: r.plugType,
          ms,
        },
        'replugged port: provider names another interface',
      );
    }
    for (const r of removals)
      log.info(
        {
          logicalPort: r.logicalPort,
          interface: r.interfaceName,
          provider: r.plugType,
          reason: r.reason,
          ms,
        },
        'unplugged port',
      );
    for (const u of updates)
      log.debug(
        { logicalPort: u.logicalPort, interface: u.interface.name, changes: u.changes },
        'updated interface',
      );
  }

  /** Interfaces on the integration bridge carrying an iface-id, by that id. */
  #interfacesByPort(): Map<string, { facts: InterfaceFacts; marker?: string }> {
    const out = new Map<string, { facts: InterfaceFacts; marker?: string }>();
    const bridge = this.#bridgeRow();
    if (bridge === undefined) return out;
    const ports = this.#o.ovs.table('Port');
    const ifaces = this.#o.ovs.table('Interface');
    for (const portUuid of toBridge(bridge).ports) {
      const port = ports.get(portUuid);
      if (port === undefined) continue;
      for (const ifaceUuid of toPort(port).interfaces) {
        const row = ifaces.get(ifaceUuid);
        if (row === undefined) continue;
        const iface = toInterface(row);
        const ifaceId = iface.externalIds['iface-id'];
        if (ifaceId === undefined) continue;
        const marker = iface.externalIds[this.#o.ownershipKey];
        const facts: InterfaceFacts = {
          name: iface.name,
          ...(iface.ofport === undefined ? {} : { ofport: iface.ofport }),
          ...(iface.error === undefined ? {} : { error: iface.error }),
          ...(iface.linkState === undefined ? {} : { linkState: iface.linkState }),
          ...(iface.adminState === undefined ? {} : { adminState: iface.adminState }),
          ...this.#providerLink(marker, iface),
          ovnInstalled: iface.externalIds['ovn-installed'] === 'true',
        };
        const existing = out.get(ifaceId);
        // Prefer our own interface when a foreign one carries the same iface-id.
        if (existing === undefined || (existing.marker === undefined && marker !== undefined)) {
          out.set(ifaceId, { facts, ...(marker === undefined ? {} : { marker }) });
        }
      }
    }
    return out;
  }

  /** The provider's view of a plugged interface's link (DESIGN §3.5 `Down`), when it is down. */
  #providerLink(
    marker: string | undefined,
    iface: OvsInterface,
  ): { providerLink?: { up: false; reason: string } } {
    if (marker === undefined || iface.ofport === undefined || iface.ofport <= 0) return {};
    const found = this.#o.providers.lookup(marker);
    if (found?.kind !== 'available' || found.provider.linkState === undefined) return {};
    try {
      const seen = found.provider.linkState(iface.name);
      return seen === undefined || seen.up ? {} : { providerLink: { up: false, reason: seen.reason } };
    } catch (error) {
      this.#rateLimited.log(
        'warn',
        `linkState:${marker}`,
        { provider: marker, err: error },
        'provider linkState() threw',
      );
      return {};
    }
  }

  #portBindingUp(): Map<string, boolean> {
    const up = new Map<string, boolean>();
    for (const row of this.#o.sb.table('Port_Binding').all()) {
      const pb = toPortBinding(row);
      if (pb.up === true && (pb.chassis === undefined || pb.chassis === this.#chassisUuid))
        up.set(pb.logicalPort, true);
    }
    return up;
  }

  /** Before the first plan: the ports we own, kept as they are. */
  #factsWithoutPlan(): PortFacts[] {
    const facts: PortFacts[] = [];
    const up = this.#portBindingUp();
    for (const [logicalPort, { facts: iface, marker }] of this.#interfacesByPort()) {
      if (marker === undefined) continue;
      facts.push({
        logicalPort,
        provider: marker,
        phase: { kind: 'awaitingSync' },
        iface,
        ...(up.has(logicalPort) ? { portBindingUp: true } : {}),
      });
    }
    return facts;
  }

  /**
   * Counts a provider warning (PlugReady.warnings) in ovn_plug_provider_errors_total once when it
   * appears on a port, not on every round it persists.
   */
  #countProviderWarnings(plan: Plan): void {
    const current = new Set<string>();
    for (const w of plan.warnings) {
      if (w.code === undefined) continue;
      const key = `${w.logicalPort}\u0000${w.code}`;
      current.add(key);
      if (!this.#warningKeys.has(key)) this.#o.metrics?.providerError(w.plugType ?? '', w.code);
    }
    this.#warningKeys = current;
  }

  #factsFromPlan(plan: Plan, parts: readonly TxnPart[]): PortFacts[] {
    const ifaces = this.#interfacesByPort();
    const warnings = new Map<string, string[]>();
    for (const w of plan.warnings)
      if (w.code !== undefined)
        warnings.set(w.logicalPort, [...(warnings.get(w.logicalPort) ?? []), `${w.code}: ${w.message}`]);
    const up = this.#portBindingUp();
    const facts = new Map<string, PortFacts>();
    const inTxn = new Set(parts.map((p) => p.logicalPort));
    const put = (logicalPort: string, provider: string, phase: PortPhase): void => {
      if (facts.has(logicalPort)) return;
      const found = ifaces.get(logicalPort);
      const txnError = this.#txnErrors.get(logicalPort);
      const effective: PortPhase =
        txnError !== undefined && !inTxn.has(logicalPort) && phase.kind === 'steady'
          ? { kind: 'transactionFailed', message: txnError }
          : phase;
      facts.set(logicalPort, {
        logicalPort,
        provider,
        phase: effective,
        ...(found === undefined ||
        (found.marker === undefined &&
          effective.kind !== 'blocked' &&
          effective.kind !== 'pluggedByOvnController')
          ? {}
          : { iface: found.facts }),
        ...(up.has(logicalPort) ? { portBindingUp: true } : {}),
        ...(warnings.has(logicalPort) ? { warnings: warnings.get(logicalPort) ?? [] } : {}),
      });
    };
    for (const b of plan.blocked) {
      if (b.operation === 'unplug' && b.reason === 'AwaitingSync')
        put(b.logicalPort, b.plugType ?? '', { kind: 'awaitingSync' });
      else
        put(b.logicalPort, b.plugType ?? '', {
          kind: 'blocked',
          state: b.state,
          reason: b.reason,
          message: b.message,
        });
    }
    for (const o of plan.observed) put(o.logicalPort, o.plugType, { kind: 'pluggedByOvnController' });
    for (const c of plan.create) put(c.logicalPort, c.plugType, { kind: 'steady' });
    for (const u of plan.update) put(u.logicalPort, u.plugType, { kind: 'steady' });
    for (const r of plan.replug) put(r.logicalPort, r.plugType, { kind: 'steady' });
    const withRemoval = new Set(plan.remove.map((r) => r.logicalPort));
    for (const u of plan.unchanged) {
      // Nothing left to write: the error of set-aside work that is no longer needed is history.
      if (!withRemoval.has(u.logicalPort)) {
        this.#txnErrors.delete(u.logicalPort);
        this.#quarantine.delete(u.logicalPort);
      }
      put(u.logicalPort, u.plugType, { kind: 'steady' });
    }
    for (const r of plan.remove) put(r.logicalPort, r.plugType, { kind: 'steady' });
    for (const r of plan.replug)
      if (r.old.logicalPort !== r.logicalPort) put(r.old.logicalPort, r.old.plugType, { kind: 'steady' });
    for (const h of plan.held)
      put(h.logicalPort, h.plugType, { kind: 'removalHeld', untilMs: h.hold.untilMs, cause: h.hold.cause });
    // Forget errors of ports that are gone from the plan (deleted while set aside).
    for (const name of this.#txnErrors.keys()) if (!facts.has(name)) this.#txnErrors.delete(name);
    for (const name of this.#quarantine.keys()) if (!facts.has(name)) this.#quarantine.delete(name);
    return [...facts.values()];
  }

  #factsWithInFlight(facts: readonly PortFacts[]): PortFacts[] {
    const inFlight = this.#inFlight;
    if (inFlight === undefined) return [...facts];
    return facts.map((f) => {
      if (inFlight.unplug.has(f.logicalPort))
        return { ...f, phase: { kind: 'inTransaction', operation: 'unplug' } };
      if (inFlight.plug.has(f.logicalPort))
        return { ...f, phase: { kind: 'inTransaction', operation: 'plug' } };
      return f;
    });
  }

  #publish(facts: readonly PortFacts[], now: number): void {
    const transitions = this.#model.update(facts.map(derivePortState));
    for (const t of transitions) this.#onTransition(t);
    const previous = this.#status;
    this.#status = this.#buildStatus(now);
    this.#o.metrics?.recordSnapshot(this.#status);
    if (transitions.length > 0 || !sameHeader(previous, this.#status)) this.#o.onStatus?.(this.#status);
  }

  #onTransition(t: PortTransition): void {
    const { metrics, logger } = this.#o;
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
        this.#rateLimited.log(
          'warn',
          `conflict:${t.logicalPort}`,
          { ...fields, message: s.message },
          'port conflict: left untouched',
        );
      else if (t.to === 'Failed')
        this.#rateLimited.log(
          'warn',
          `failed:${t.logicalPort}`,
          { ...fields, message: s.message },
          'port failed',
        );
      else if (t.to === 'Bound') logger.info({ ...fields, bindLatencyMs: s.bindLatencyMs }, 'port bound');
      else if (t.to === 'Down') logger.info({ ...fields, message: s.message }, 'port link down');
      else logger.debug(fields, 'port state changed');
    }
    if ((t.to === 'Pending' || t.to === 'Failed') && t.from !== t.to && isProviderReason(s.reason))
      metrics?.providerError(s.provider, s.reason);
    if (t.to === undefined) logger.debug(fields, 'port no longer tracked');
    this.#o.onTransition?.(t);
  }

  #buildHeader(): Pick<AgentStatus, 'sb' | 'ovs' | 'providers'> {
    return {
      sb: dbStatus(this.#o.sb, this.#sbSyncedOnce && this.#canRemoveSb(), this.#sbReconnects),
      ovs: dbStatus(this.#o.ovs, this.#o.ovs.state === 'monitoring', this.#ovsReconnects),
      providers: this.#o.providers.list().map((p): ProviderStatus => ({
        type: p.type,
        available: p.available,
        ...(p.reason === undefined ? {} : { reason: p.reason }),
      })),
    };
  }

  #buildStatus(now = this.#o.now()): AgentStatus {
    return {
      chassis: this.#chassisName,
      ...(this.#o.nodeName === undefined ? {} : { nodeName: this.#o.nodeName }),
      integrationBridge: this.#integrationBridge,
      ...this.#buildHeader(),
      ports: this.#model.ports(),
      ...(this.#hold === undefined
        ? {}
        : { heldRemovals: { count: this.#hold.count, untilMs: this.#hold.untilMs } }),
      generatedAtMs: now,
    };
  }

  #canRemoveSb(): boolean {
    return (
      this.#o.sb.state === 'monitoring' &&
      this.#chassisUuid !== undefined &&
      this.#o.sb.conditionSeqno >= this.#conditionSeqno
    );
  }
}

function deferToCheckPhase(fn: () => void): Timer {
  const handle = setImmediate(fn);
  return { cancel: () => clearImmediate(handle) };
}

function dbStatus(replica: Replica, synced: boolean, reconnects: number): DbStatus {
  const state = replica.state;
  const remote = replica.currentRemote;
  return {
    state: state === 'idle' ? 'connecting' : state,
    ...(remote === undefined ? {} : { remote }),
    synced,
    reconnects,
  };
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

/** Reasons that come from providers (as opposed to conflicts or OVS errors). */
function isProviderReason(reason: string): boolean {
  return (
    reason !== 'AwaitingSync' &&
    reason !== 'PluggedByOvnController' &&
    reason !== 'AwaitingOvnController' &&
    reason !== 'Queued' &&
    reason !== 'TransactionFailed' &&
    reason !== 'InterfaceError' &&
    reason !== 'NoOfport' &&
    reason !== 'InterfaceHeld' &&
    reason !== 'IntegrationBridgeMissing'
  );
}

/**
 * Map-column mutations that set `set` keys and delete `remove` keys. OVSDB's map `insert` never
 * overwrites an existing key, so a changed value is deleted (with its current value) first.
 */
function mapMutations(
  row: Row,
  column: string,
  set: Readonly<Record<string, string>>,
  remove: readonly string[],
): Mutation[] {
  const current = stringMap(row, column);
  const toDelete = new Map<string, string>();
  for (const key of remove) {
    const value = current[key];
    if (value !== undefined) toDelete.set(key, value);
  }
  const toInsert = new Map<string, string>();
  for (const [key, value] of Object.entries(set)) {
    const have = current[key];
    if (have !== undefined) toDelete.set(key, have);
    toInsert.set(key, value);
  }
  const mutations: Mutation[] = [];
  if (toDelete.size > 0) mutations.push(mutation(column, 'delete', toDelete));
  if (toInsert.size > 0) mutations.push(mutation(column, 'insert', toInsert));
  return mutations;
}

/** Whether `row` carries every change of a planned update (its columns as the update left them). */
function updateApplied(row: Row, changes: InterfaceChanges): boolean {
  const iface = toInterface(row);
  if (changes.type !== undefined && iface.type !== changes.type) return false;
  for (const [key, value] of Object.entries(changes.setOptions))
    if (iface.options[key] !== value) return false;
  if (changes.deleteOptions.some((key) => iface.options[key] !== undefined)) return false;
  for (const [key, value] of Object.entries(changes.setExternalIds))
    if (iface.externalIds[key] !== value) return false;
  if (changes.mtuRequest !== undefined) {
    const mtu = iface.mtuRequest;
    if (changes.mtuRequest.kind === 'set' ? mtu !== changes.mtuRequest.value : mtu !== undefined)
      return false;
  }
  return true;
}

function finish(prepared: PreparedPlug, logger: Logger): void {
  callProvider(prepared.provider, 'finish', prepared.request, prepared.answer, logger);
}

function release(prepared: PreparedPlug, logger: Logger): void {
  callProvider(prepared.provider, 'release', prepared.request, prepared.answer, logger);
}

function callProvider(
  provider: PlugProvider,
  method: 'finish' | 'release',
  request: PlugRequest,
  answer: PlugReady,
  logger: Logger,
): void {
  try {
    if (method === 'finish') provider.finish?.(request, answer);
    else provider.release?.(request, answer);
  } catch (error) {
    logger.warn(
      { provider: provider.type, logicalPort: request.logicalPort, err: error },
      `provider ${method}() threw`,
    );
  }
}
