/**
 * OvsdbClient: the replicating client (IDL) — PUBLIC API DRAFT, implementation in progress.
 */
import type { OvsdbLogger } from './logger.js';
import type { TlsSource } from './jsonrpc.js';

export type Uuid = string;

/** A replicated row: frozen, replaced (never mutated) on every change; `_uuid` always present. */
export type Row = Readonly<{ _uuid: Uuid } & Record<string, unknown>>;

/** One where-clause `[column, function, value]`; `value` in TS notation (encoded by schema). */
export type Clause = readonly [column: string, fn: '==' | '!=' | '<' | '<=' | '>' | '>=' | 'includes' | 'excludes', value: unknown];

/**
 * Monitor condition for a table. Clauses are ORed (monitor semantics). `true` = all rows,
 * `false` = no rows. An empty array means ALL rows (RFC 7047; see docs/adr/0011).
 */
export type MonitorCondition = readonly (Clause | boolean)[] | boolean;

export interface TableMonitorSpec {
  /** Columns to replicate; default: every column known to both client and server schema. */
  readonly columns?: readonly string[];
  /** Default: all rows. */
  readonly where?: MonitorCondition;
  /** Client-side indexes maintained incrementally: name -> column list. */
  readonly indexes?: Readonly<Record<string, readonly string[]>>;
}

export type ClientState = 'idle' | 'connecting' | 'syncing' | 'monitoring' | 'backoff' | 'closed';

export interface OvsdbClientOptions {
  /** One remote, a comma list, or an array; may include `cid:<uuid>`. */
  readonly remotes: string | readonly string[];
  readonly database: string;
  /** Client schema (parsed `.ovsschema` JSON). Default: the server's schema as received. */
  readonly schema?: unknown;
  readonly tables: Readonly<Record<string, TableMonitorSpec>>;
  /** Default true (C/Python IDL parity; docs/adr/0013). Use false for read-mostly SB readers. */
  readonly leaderOnly?: boolean;
  readonly shuffleRemotes?: boolean;
  /** Reconnect backoff; default 1000..8000 ms, every remote tried once without delay first. */
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number };
  /** tcp/ssl inactivity probe; default 5000, min 1000, 0 = off; always off for unix. */
  readonly probeIntervalMs?: number;
  /** For ssl: remotes; CA verified, no host name check; files re-read on every connect. */
  readonly tls?: TlsSource;
  readonly timeouts?: {
    readonly connectMs?: number;
    readonly initialSyncMs?: number;
    readonly requestMs?: number;
    readonly transactMs?: number;
  };
  readonly monitorMethod?: 'auto' | 'monitor_cond_since' | 'monitor_cond' | 'monitor';
  readonly dbChangeAware?: boolean;
  readonly maxFrameBytes?: number;
  readonly logger?: OvsdbLogger;
}

export interface TableChanges {
  readonly inserted: readonly Row[];
  readonly modified: readonly { readonly row: Row; readonly old: Row }[];
  readonly deleted: readonly Row[];
}

/** One per applied server message (monitor reply or update notification). */
export interface ChangeBatch {
  readonly seqno: number;
  /** True when the replica was cleared first (full resync). */
  readonly cleared: boolean;
  readonly tables: Readonly<Record<string, TableChanges>>;
}

export interface TableView {
  get(uuid: Uuid): Row | undefined;
  all(): readonly Row[];
  readonly size: number;
  find(pred: (row: Row) => boolean): Row[];
  /** Rows whose indexed columns equal `values` (index declared in TableMonitorSpec.indexes). */
  byIndex(index: string, ...values: unknown[]): readonly Row[];
}

export type TxnOutcome =
  | { readonly status: 'success'; readonly results: readonly unknown[]; readonly uuids: ReadonlyMap<string, Uuid>; readonly seqno: number }
  | { readonly status: 'tryAgain'; readonly reason: 'verify-failed' | 'canceled' | 'not-monitoring' | 'unknown-database' }
  | { readonly status: 'notLocked' }
  | { readonly status: 'error'; readonly opIndex: number; readonly error: string; readonly details?: string }
  /** In flight at disconnect or timeout: it MAY have committed (docs/adr/0012). */
  | { readonly status: 'unknown'; readonly reason: 'disconnected' | 'timeout' };

export interface ClientEvents {
  state: (state: ClientState, info: { remote?: string; reason?: string }) => void;
  change: (batch: ChangeBatch) => void;
  reconnect: (info: { remote: string; incremental: boolean }) => void;
  warning: (message: string) => void;
}

/** Handle of a row inserted in the transaction being built (named-uuid `row_<hex>`). */
export interface RowRef {
  readonly namedUuid: string;
}

/** Transaction builder handed to `transact`; conditions are ANDed (transact semantics). */
export interface TxnBuilder {
  insert(table: string, row: Readonly<Record<string, unknown>>, options?: { uuid?: Uuid }): RowRef;
  update(table: string, where: readonly Clause[] | Uuid, row: Readonly<Record<string, unknown>>): void;
  mutate(table: string, where: readonly Clause[] | Uuid, mutations: readonly (readonly [column: string, mutator: string, value: unknown])[]): void;
  delete(table: string, where: readonly Clause[] | Uuid): void;
  wait(table: string, where: readonly Clause[] | Uuid, spec: { columns: readonly string[]; until: '==' | '!='; rows: readonly Readonly<Record<string, unknown>>[]; timeoutMs?: number }): void;
  /** `wait timeout:0 until == [current cache values]`: the commit fails with tryAgain if they changed. */
  verify(table: string, row: Row, columns: readonly string[]): void;
  comment(text: string): void;
  raw(op: Readonly<Record<string, unknown>>): void;
}

export interface TransactOptions {
  readonly timeoutMs?: number;
  readonly comment?: string;
}

type Listener<K extends keyof ClientEvents> = ClientEvents[K];

/** The replicating client. See the file header for the contract. */
export class OvsdbClient {
  constructor(private readonly options: OvsdbClientOptions) {
    void this.options;
  }
  /** Starts connecting in the background; never throws later (errors become state/events). */
  start(): void {
    throw new Error('OvsdbClient: not implemented yet');
  }
  /** Resolves when the replica is first `monitoring` (initial sync done with current conditions). */
  ready(_o?: { signal?: AbortSignal }): Promise<void> {
    return Promise.reject(new Error('OvsdbClient: not implemented yet'));
  }
  get state(): ClientState {
    return 'idle';
  }
  /** Incremented by every applied change batch (and by a resync). */
  get seqno(): number {
    return 0;
  }
  get currentRemote(): string | undefined {
    return undefined;
  }
  table(_name: string): TableView {
    throw new Error('OvsdbClient: not implemented yet');
  }
  serverHasTable(_table: string): boolean {
    return false;
  }
  serverHasColumn(_table: string, _column: string): boolean {
    return false;
  }
  /** Replaces a table's monitor condition; returns the condition seqno at which it is in effect. */
  setCondition(_table: string, _where: MonitorCondition): number {
    return 0;
  }
  get conditionSeqno(): number {
    return 0;
  }
  waitForConditionSeqno(_n: number, _o?: { signal?: AbortSignal }): Promise<void> {
    return Promise.reject(new Error('OvsdbClient: not implemented yet'));
  }
  /** Resolves once `seqno` > sinceSeqno. */
  waitForChange(_sinceSeqno: number, _o?: { signal?: AbortSignal }): Promise<void> {
    return Promise.reject(new Error('OvsdbClient: not implemented yet'));
  }
  transact(_build: (tx: TxnBuilder) => void, _o?: TransactOptions): Promise<TxnOutcome> {
    return Promise.reject(new Error('OvsdbClient: not implemented yet'));
  }
  /** Escape hatch for other methods (list_dbs, get_server_id, ...) on the current connection. */
  rpc<T = unknown>(_method: string, _params: readonly unknown[]): Promise<T> {
    return Promise.reject(new Error('OvsdbClient: not implemented yet'));
  }
  on<K extends keyof ClientEvents>(_event: K, _listener: Listener<K>): this {
    return this;
  }
  off<K extends keyof ClientEvents>(_event: K, _listener: Listener<K>): this {
    return this;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
