/**
 * What the reconciler needs of its collaborators, as interfaces: the two database replicas (an
 * `OvsdbClient` fits each) and the provider registry (a `ProviderRegistry` fits). Tests hand in
 * fakes of the same shapes.
 */
import type {
  ClientEvents,
  ClientState,
  MonitorCondition,
  TableView,
  TransactionBuilder,
  TxnOutcome,
} from '../ovsdb/index.js';
import type { ProviderLookup, ProviderState, RunAllResult } from '../plug/index.js';

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
