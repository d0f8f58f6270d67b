/**
 * What the reconciler is given: its options, and its collaborators as interfaces — the two
 * database replicas (an `OvsdbClient` fits each) and the provider registry (a `ProviderRegistry`
 * fits). Tests hand in fakes of the same shapes.
 */
import type {
  ClientEvents,
  ClientState,
  MonitorCondition,
  TableView,
  TransactionBuilder,
  TxnOutcome,
} from '../ovsdb/index.js';
import type {
  OwnershipKey,
  Plan,
  PlanInput,
  ProviderLookup,
  ProviderState,
  RemovalGuardPolicy,
  RunAllResult,
  Timer,
  Timers,
} from '../plug/index.js';
import type { Logger } from './logger.js';
import type { AgentMetrics } from './metrics.js';
import type { AgentStatus, PortTransition } from './status/index.js';
import type { ReconcilerLivenessEvent } from './liveness.js';

/** The replica operations the reconciler uses. */
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

/** The registry operations the reconciler uses. */
export interface ProviderSource {
  readonly lookup: ProviderLookup;
  list(): ProviderState[];
  runAll(): Promise<RunAllResult>;
}

/** Removal guard settings (DESIGN §3.4; see src/plug/removal-guard.ts). */
export type RemovalHoldPolicy = RemovalGuardPolicy;

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
  /**
   * Monotonic milliseconds for measuring how long a round took (the duty-cycle cap and the
   * reconcile-time metric); `performance.now()` when absent.
   */
  readonly monotonicNow?: () => number;
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
  /** Progress events for the liveness monitor (DESIGN §5, liveness.ts). */
  readonly onLiveness?: (event: ReconcilerLivenessEvent) => void;
}
