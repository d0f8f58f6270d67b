/**
 * OvsdbClient: the replicating client (the "IDL"), modelled on the C ovsdb-cs state machine.
 *
 * Contract:
 * - `start()` connects in the background and never throws afterwards: problems become `state`
 *   transitions, `warning` events and logs. `close()` stops everything.
 * - Remotes (a comma list or array, optionally with `cid:<uuid>`) are shuffled once (option), then
 *   tried round robin: every remote once without delay, then with exponential backoff
 *   (default 1 s doubling to 8 s). Only a connection that stayed `monitoring` for at least
 *   `backoff.maxMs` resets the backoff when it ends (docs/adr/0015); any other lost, rejected or
 *   dropped connection counts as a failed attempt. `setRemotes` replaces the list while running
 *   (an operator's move, not a failure: no backoff; the current connection is kept when still listed).
 * - Per connection: `_Server` is monitored (`Database` row of our database) and the server is
 *   rejected when the database is missing or has no schema yet, when it is clustered/relay and not
 *   connected, when `leaderOnly` and it is not the leader (or is a relay), when its index is below
 *   the highest index seen so far (stale server), or when its cid differs from the pinned one
 *   (checked first: a wrong-cluster server never raises `minIndex`). `minIndex` grows with
 *   every accepted server, is reset when the accepted cluster id changes (cluster re-created) and by
 *   `resetMinIndex()`. The row is watched from the initial check on, also during the initial sync:
 *   losing leadership (leaderOnly), losing the cluster connection or the row disappearing drops
 *   the server (immediately on the next remote from a stable `monitoring` session, see above).
 * - `set_db_change_aware(true)` is sent when `_Server` exists; `monitor_canceled` (schema
 *   conversion, database removed) restarts the session on the same connection.
 * - Data monitor: `monitor_cond_since` (resuming from the last transaction id, taken from the reply
 *   and from every `update3`), falling back to `monitor_cond` and then `monitor` on any error
 *   reply. `found=false` replaces the replica content in one batch. An update that does not apply,
 *   for any reason (inconsistency, bad value, a throwing index key), forgets the last id and
 *   reconnects for a full resync: the replica is never kept "best effort".
 * - Monitor conditions: OR of clauses; `true` or absent = all rows, `false` or `[]` = none
 *   (docs/adr/0011). At most one `monitor_cond_change` is in flight; later changes are coalesced.
 *   `setCondition` returns the condition seqno at which the change is in effect (rows in the
 *   replica); `waitForConditionSeqno` waits for it. A reconnect while a change is pending forgets
 *   the last transaction id (full reload with the newest conditions). Clauses on columns the server
 *   lacks are dropped with a warning (E6); a clause on a server column that is merely not in the
 *   table's `columns` is kept.
 * - Every server message is applied synchronously in arrival order and produces one `change`
 *   event (update before transact reply: when `transact` resolves, its effects are in the replica).
 * - `transact` is refused with `tryAgain/not-monitoring` unless monitoring. A transaction in
 *   flight when the connection drops resolves `{status:'unknown', reason:'disconnected'}`, one that
 *   times out `{status:'unknown', reason:'timeout'}`: it may have committed (docs/adr/0012).
 *   Transactions are never resent.
 */
import {
  ClientClosedError,
  ConnectionClosedError,
  OvsdbOptionsError,
  OvsdbRpcError,
  RpcTimeoutError,
} from './errors.js';
import { RpcConnection } from './jsonrpc.js';
import type { RpcDialer, TlsSource } from './jsonrpc.js';
import { realOvsdbTimers } from './timers.js';
import type { OvsdbTimer, OvsdbTimers } from './timers.js';
import type { OvsdbLogger } from './logger.js';
import { noopLogger } from './logger.js';
import { parseRemoteList } from './remote.js';
import type { RemoteEndpoint } from './remote.js';
import { Replica } from './cache.js';
import type { ChangeBatch, IndexSpec, Row, TableView } from './cache.js';
import { DatumError } from './datum.js';
import { encodeMonitorWhere } from './condition.js';
import type { ConditionClause } from './condition.js';
import { intersectSchemas, parseSchema, restrictSchema, SchemaError, ZERO_UUID } from './schema.js';
import type { DatabaseSchema, SchemaIntersection, TableSchema } from './schema.js';
import { classifyTransactResult, TransactionBuilder } from './transaction.js';
import type { TxnOutcome } from './transaction.js';

/**
 * A monitor condition: clauses (condition.ts `where(...)`) are ORed — monitor semantics, unlike
 * transact where they are ANDed. `true` or an absent condition = all rows; `false` or `[]` (an
 * empty OR) = no rows, as in the C and Python IDL APIs (docs/adr/0011).
 */
export type MonitorCondition = readonly ConditionClause[] | boolean;

export interface TableMonitorSpec {
  /** Columns to replicate; default: every column the client schema and the server both have. */
  readonly columns?: readonly string[];
  /** Default: all rows. */
  readonly where?: MonitorCondition;
}

export type ClientState = 'idle' | 'connecting' | 'syncing' | 'monitoring' | 'backoff' | 'closed';

export interface OvsdbClientOptions {
  /** One remote, a comma list, or an array; may include `cid:<uuid>`. */
  readonly remotes: string | readonly string[];
  readonly database: string;
  /** Client schema (`.ovsschema` JSON). Default: the server's schema as received. */
  readonly schema?: unknown;
  /** Tables to replicate. */
  readonly tables: Readonly<Record<string, TableMonitorSpec>>;
  /** Client-side indexes of the replica (cache.ts `columnIndex`, `mapKeyIndex`, or custom). */
  readonly indexes?: readonly IndexSpec[];
  /** Default true (C/Python IDL parity; docs/adr/0013). Use false for read-mostly readers. */
  readonly leaderOnly?: boolean;
  /** Default true. */
  readonly shuffleRemotes?: boolean;
  /** Reconnect backoff; default 1000..8000 ms, after every remote was tried once without delay. */
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number };
  /** tcp/ssl inactivity probe; default 5000, min 1000, 0 = off; always off for unix. */
  readonly probeIntervalMs?: number;
  /** For ssl: remotes; CA verified, no host name check; files re-read on every connect. */
  readonly tls?: TlsSource;
  readonly timeouts?: {
    /** TCP/TLS connect; default 10 s. */
    readonly connectMs?: number;
    /** The data monitor request (initial dump); default 300 s. */
    readonly initialSyncMs?: number;
    /** Other requests (`_Server`, schema, condition changes); default 30 s. */
    readonly requestMs?: number;
    /** Default for `transact`; default 60 s. */
    readonly transactMs?: number;
  };
  /** Default 'auto' = monitor_cond_since, falling back on error. */
  readonly monitorMethod?: 'auto' | 'monitor_cond_since' | 'monitor_cond' | 'monitor';
  /** Default true. */
  readonly dbChangeAware?: boolean;
  /**
   * Name of an OVSDB lock to hold (RFC 7047 §4.1.8). The client requests it on every connection
   * (locks belong to a connection); while it is not held, `transact` answers `notLocked`; while
   * held, every transaction asserts it.
   */
  readonly lock?: string;
  readonly maxFrameBytes?: number;
  readonly logger?: OvsdbLogger;
  /** For shuffling; default Math.random. */
  readonly random?: () => number;
  /** Milliseconds clock for connection lifetimes (backoff reset); default Date.now. */
  readonly now?: () => number;
  /** Reconnect backoff, request and connect timeouts, the probe; default Node's timers. */
  readonly timers?: OvsdbTimers;
  /** How connections reach a remote; default net/tls sockets (tests pass an in-memory fake). */
  readonly dial?: RpcDialer;
}

export interface TransactOptions {
  readonly timeoutMs?: number;
  readonly comment?: string;
}

export interface ClientEvents {
  state: (state: ClientState, info: { remote?: string; reason?: string }) => void;
  change: (batch: ChangeBatch) => void;
  reconnect: (info: { remote: string; incremental: boolean; method: MonitorMethod }) => void;
  warning: (message: string) => void;
  /** The lock named in the options was acquired. */
  locked: () => void;
  /** The lock was lost (stolen, or the connection dropped). */
  lockLost: () => void;
}

export type MonitorMethod = 'monitor_cond_since' | 'monitor_cond' | 'monitor';

const SERVER_DB = '_Server';
const SERVER_COLUMNS = ['name', 'model', 'connected', 'leader', 'schema', 'cid', 'index'] as const;
const FALLBACK: Readonly<Record<MonitorMethod, MonitorMethod | undefined>> = {
  monitor_cond_since: 'monitor_cond',
  monitor_cond: 'monitor',
  monitor: undefined,
};

/** What the `_Server.Database` row says about our database on one server. */
interface ServerDbRow {
  readonly uuid: string;
  name: string;
  model: string;
  connected: boolean;
  leader: boolean;
  schema: string | undefined;
  cid: string | undefined;
  index: bigint | undefined;
}

interface Session {
  readonly conn: RpcConnection;
  readonly endpoint: RemoteEndpoint;
  readonly serverMonitorId: string;
  readonly dataMonitorId: string;
  /** Present when the server has `_Server`. */
  serverRow: ServerDbRow | undefined;
  hasServerDb: boolean;
  /** The `_Server` row passed the initial check; from then on every update is re-checked. */
  serverAccepted: boolean;
  monitoring: boolean;
  /** When the session reached `monitoring` (options.now clock). */
  monitoringSinceMs: number | undefined;
  method: MonitorMethod;
  /**
   * After `monitor_canceled` the `_Server` row may still carry the old schema: ask the database
   * itself (`get_schema`), as the C client does.
   */
  readonly schemaFromServerRow: boolean;
}

type ConditionMap = Map<string, MonitorCondition>;

interface Waiter {
  readonly ready: () => boolean;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

type ListenerMap = { [K in keyof ClientEvents]: Set<ClientEvents[K]> };

/** The replicating client. See the file header for the contract. */
export class OvsdbClient {
  private readonly opts: OvsdbClientOptions;
  private readonly logger: OvsdbLogger;
  private endpoints: readonly RemoteEndpoint[];
  private cid: string | undefined;
  /** Bumped by `setRemotes`: a connection opened for an older list is not used. */
  private remotesGeneration = 0;
  private readonly clientSchema: DatabaseSchema | undefined;
  private readonly leaderOnly: boolean;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;
  private readonly listeners: ListenerMap = {
    state: new Set(),
    change: new Set(),
    reconnect: new Set(),
    warning: new Set(),
    locked: new Set(),
    lockLost: new Set(),
  };
  private lockHeld = false;

  private stateValue: ClientState = 'idle';
  private session: Session | undefined;
  private sessionCounter = 0;
  private remoteIndex = 0;
  private failuresInRow = 0;
  private reconnectTimer: OvsdbTimer | undefined;
  private readonly timers: OvsdbTimers;
  private closed = false;

  private replica: Replica | undefined;
  private replicaSignature = '';
  private intersection: SchemaIntersection | undefined;
  private effectiveSchema: DatabaseSchema | undefined;
  /** The server's own schema: monitor conditions are checked and encoded against it (E6). */
  private serverSchema: DatabaseSchema | undefined;
  private lastTxnId = ZERO_UUID;
  private minIndex = -1n;
  /** Cluster id of the server that last raised `minIndex`. */
  private minIndexCid: string | undefined;
  private changeSeqno = 0;
  private readonly warned = new Set<string>();
  private missingTablesBefore: ReadonlySet<string> = new Set();

  private readonly acked: ConditionMap = new Map();
  private requested: ConditionMap | undefined;
  private requestedIncrements = 0;
  private wanted: ConditionMap = new Map();
  private condSeqno = 0;

  private readonly waiters = new Set<Waiter>();

  constructor(options: OvsdbClientOptions) {
    this.opts = options;
    this.logger = options.logger ?? noopLogger;
    const list = parseRemoteList(options.remotes);
    const endpoints = [...list.endpoints];
    if (options.shuffleRemotes ?? true) shuffle(endpoints, options.random ?? Math.random);
    this.endpoints = endpoints;
    this.cid = list.cid;
    if (typeof options.database !== 'string' || options.database.length === 0) {
      throw new OvsdbOptionsError(
        `database must be a non-empty string, got ${JSON.stringify(options.database)}`,
      );
    }
    this.clientSchema = options.schema === undefined ? undefined : parseSchema(options.schema);
    if (this.clientSchema !== undefined && this.clientSchema.name !== options.database) {
      throw new OvsdbOptionsError(
        `client schema is for database ${JSON.stringify(this.clientSchema.name)}, not ${JSON.stringify(options.database)}`,
      );
    }
    const tableNames = Object.keys(options.tables);
    if (tableNames.length === 0)
      throw new OvsdbOptionsError('tables: at least one table to replicate is required');
    for (const name of tableNames) {
      if (this.clientSchema !== undefined && !this.clientSchema.tables.has(name)) {
        throw new OvsdbOptionsError(
          `tables: ${JSON.stringify(name)} is not a table of the client schema ${this.clientSchema.name}`,
        );
      }
      const spec = options.tables[name];
      if (spec?.where !== undefined) this.acked.set(name, validateCondition(name, spec.where));
    }
    this.leaderOnly = options.leaderOnly ?? true;
    this.minBackoffMs = options.backoff?.minMs ?? 1000;
    this.maxBackoffMs = Math.max(this.minBackoffMs, options.backoff?.maxMs ?? 8000);
    this.now = options.now ?? Date.now;
    this.timers = options.timers ?? realOvsdbTimers;
    if (!(this.minBackoffMs >= 0))
      throw new OvsdbOptionsError(`backoff.minMs must be >= 0, got ${this.minBackoffMs}`);
  }

  // ---------------------------------------------------------------- public surface

  /** Starts connecting in the background. Idempotent. */
  start(): void {
    if (this.closed) throw new ClientClosedError();
    if (this.stateValue !== 'idle') return;
    this.scheduleConnect(0);
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** Incremented once per applied change batch. */
  get seqno(): number {
    return this.changeSeqno;
  }

  /** The remote of the current connection, if any. */
  get currentRemote(): string | undefined {
    return this.session?.endpoint.text;
  }

  /** The monitor method of the current session, once monitoring. */
  get monitorMethod(): MonitorMethod | undefined {
    return this.session?.monitoring === true ? this.session.method : undefined;
  }

  /** Last transaction id known (all zeros for standalone servers or after a reset). */
  get lastTransactionId(): string {
    return this.lastTxnId;
  }

  /** The schema actually replicated (client ∩ server), once connected. */
  get schema(): DatabaseSchema | undefined {
    return this.effectiveSchema;
  }

  /** Resolves when the client is `monitoring` (the initial sync with the current conditions is done). */
  ready(o: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitFor(() => this.stateValue === 'monitoring', o.signal);
  }

  /**
   * A live view of a replicated table. Throws for a table that is not replicated. A view belongs
   * to the current replica, which is replaced when the replicated schema changes (server schema
   * conversion); call `table()` again rather than keeping a view across `cleared` batches.
   */
  table(name: string): TableView {
    if (!(name in this.opts.tables))
      throw new OvsdbOptionsError(`table ${JSON.stringify(name)} is not replicated by this client`);
    if (this.replica === undefined || !this.replica.schema.tables.has(name)) return emptyView(name);
    return this.replica.table(name);
  }

  /**
   * Forgets the highest cluster index seen (stale-server protection, F4), e.g. after the cluster
   * was restored from an older backup under the same cluster id. Happens by itself when an
   * accepted server reports another cluster id. Takes effect at the next server check.
   */
  resetMinIndex(): void {
    this.minIndex = -1n;
    this.minIndexCid = undefined;
  }

  /**
   * Replaces the remotes (e.g. `external_ids:ovn-remote` changed while running, as ovn-controller
   * follows it). Same syntax as the `remotes` option; a bad list throws naming it and changes
   * nothing. When the current connection's remote is in the new list it is kept; otherwise it is
   * dropped and the new list is tried at once, without backoff (in-flight transactions resolve
   * `unknown`). The stale-server index is forgotten (another cluster may be behind). Returns
   * whether the list changed.
   */
  setRemotes(remotes: string | readonly string[]): boolean {
    if (this.closed) throw new ClientClosedError();
    const list = parseRemoteList(remotes);
    const same =
      list.cid === this.cid &&
      list.endpoints.length === this.endpoints.length &&
      list.endpoints.every((e) => this.endpoints.some((have) => have.text === e.text));
    if (same) return false;
    const endpoints = [...list.endpoints];
    if (this.opts.shuffleRemotes ?? true) shuffle(endpoints, this.opts.random ?? Math.random);
    this.endpoints = endpoints;
    this.cid = list.cid;
    this.remotesGeneration += 1;
    this.resetMinIndex();
    this.failuresInRow = 0;
    const session = this.session;
    const kept = session === undefined ? -1 : endpoints.findIndex((e) => e.text === session.endpoint.text);
    if (session !== undefined && kept !== -1 && list.cid === undefined) {
      this.remoteIndex = kept;
      return true;
    }
    this.remoteIndex = 0;
    if (this.stateValue === 'idle') return true;
    if (session !== undefined) {
      this.session = undefined;
      this.setLockHeld(false);
      session.conn.close('remotes changed');
    }
    this.scheduleConnect(0);
    return true;
  }

  serverHasTable(table: string): boolean {
    return this.intersection?.serverHasTable(table) ?? false;
  }

  serverHasColumn(table: string, column: string): boolean {
    return this.intersection?.serverHasColumn(table, column) ?? false;
  }

  /**
   * Replaces the monitor condition of a table. Returns the condition seqno at which the new
   * condition is in effect (its rows in the replica); see `waitForConditionSeqno`.
   */
  setCondition(table: string, where: MonitorCondition): number {
    if (!(table in this.opts.tables))
      throw new OvsdbOptionsError(
        `setCondition: table ${JSON.stringify(table)} is not replicated by this client`,
      );
    const cond = validateCondition(table, where);
    const latest = this.wanted.get(table) ?? this.requested?.get(table) ?? this.acked.get(table) ?? true;
    // A request in flight may carry several seqnos at once (a resync sends the conditions of
    // earlier coalesced changes together): `wanted` is only in effect after all of them.
    const inFlight = this.requested === undefined ? 0 : this.requestedIncrements;
    if (conditionKey(latest) === conditionKey(cond)) {
      if (this.wanted.has(table)) return this.condSeqno + inFlight + 1;
      if (this.requested?.has(table) === true) return this.condSeqno + inFlight;
      return this.condSeqno;
    }
    this.wanted.set(table, cond);
    const expected = this.condSeqno + inFlight + 1;
    this.maybeSendConditionChange();
    return expected;
  }

  /** Incremented when a condition change is acknowledged by the server (rows in the replica). */
  get conditionSeqno(): number {
    return this.condSeqno;
  }

  waitForConditionSeqno(n: number, o: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitFor(() => this.condSeqno >= n, o.signal);
  }

  /** Resolves once `seqno` > sinceSeqno. */
  waitForChange(sinceSeqno: number, o: { signal?: AbortSignal } = {}): Promise<void> {
    return this.waitFor(() => this.changeSeqno > sinceSeqno, o.signal);
  }

  /**
   * Builds and sends one transaction. Never rejects for server-side outcomes: see TxnOutcome.
   * Rejects only when `build` throws (bad input) or the client is closed.
   */
  transact(build: (tx: TransactionBuilder) => void, o: TransactOptions = {}): Promise<TxnOutcome> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const session = this.session;
    const schema = this.effectiveSchema;
    const replica = this.replica;
    if (session === undefined || !session.monitoring || schema === undefined || replica === undefined) {
      return Promise.resolve({ status: 'tryAgain', reason: 'not-monitoring' });
    }
    let txn: ReturnType<TransactionBuilder['build']>;
    try {
      const builder = new TransactionBuilder(schema);
      build(builder);
      if (this.opts.lock !== undefined) builder.assertLock(this.opts.lock);
      if (o.comment !== undefined) builder.comment(o.comment);
      txn = builder.build();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    if (txn.ops.length === (this.opts.lock === undefined ? 0 : 1))
      return Promise.resolve({ status: 'unchanged' });
    if (this.opts.lock !== undefined && !this.lockHeld)
      return Promise.resolve({ status: 'notLocked', details: `lock ${this.opts.lock} is not held` });
    const timeoutMs = o.timeoutMs ?? this.opts.timeouts?.transactMs ?? 60_000;
    return new Promise<TxnOutcome>((resolve) => {
      const id = session.conn.call('transact', txn.params, { timeoutMs }, (error, result) => {
        if (error === undefined) {
          resolve(classifyTransactResult(txn, { result }));
          return;
        }
        if (error instanceof RpcTimeoutError) {
          session.conn.notify('cancel', [id]);
          resolve({ status: 'unknown', reason: 'timeout' });
        } else if (error instanceof ConnectionClosedError) {
          resolve({ status: 'unknown', reason: 'disconnected' });
        } else if (error instanceof OvsdbRpcError) {
          if (error.error === 'unknown database') {
            this.dropSession(session, 'transact answered "unknown database"');
          }
          resolve(classifyTransactResult(txn, { error: error.raw }));
        } else {
          resolve({ status: 'unknown', reason: 'disconnected' });
        }
      });
    });
  }

  /** Sends any request on the current connection (list_dbs, get_server_id, ...). */
  rpc<T = unknown>(method: string, params: readonly unknown[], o: { timeoutMs?: number } = {}): Promise<T> {
    const session = this.session;
    if (this.closed) return Promise.reject(new ClientClosedError());
    if (session === undefined) return Promise.reject(new ConnectionClosedError('(none)', 'not connected'));
    return session.conn.request<T>(method, params, { timeoutMs: o.timeoutMs ?? this.requestTimeout() });
  }

  on<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    (this.listeners[event] as Set<ClientEvents[K]>).add(listener);
    return this;
  }

  off<K extends keyof ClientEvents>(event: K, listener: ClientEvents[K]): this {
    (this.listeners[event] as Set<ClientEvents[K]>).delete(listener);
    return this;
  }

  /** Closes the connection and stops reconnecting; in-flight transactions resolve `unknown`. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.reconnectTimer?.cancel();
    const session = this.session;
    this.session = undefined;
    session?.conn.close('client closed');
    this.setState('closed', {});
    const error = new ClientClosedError();
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      w.reject(error);
    }
    return Promise.resolve();
  }

  // ---------------------------------------------------------------- connection management

  private requestTimeout(): number {
    return this.opts.timeouts?.requestMs ?? 30_000;
  }

  private setState(state: ClientState, info: { remote?: string; reason?: string }): void {
    if (this.stateValue === state && state !== 'backoff' && state !== 'connecting') return;
    this.stateValue = state;
    this.logger.debug({ state, ...info }, 'ovsdb client state');
    this.emit('state', state, info);
    this.checkWaiters();
  }

  private scheduleConnect(delayMs: number): void {
    if (this.closed) return;
    this.reconnectTimer?.cancel();
    const endpoint = this.endpoints[this.remoteIndex % this.endpoints.length] as RemoteEndpoint;
    if (delayMs > 0) this.setState('backoff', { remote: endpoint.text });
    this.reconnectTimer = this.timers.setTimer(() => {
      this.reconnectTimer = undefined;
      void this.connect(endpoint);
    }, delayMs);
  }

  /** A connection attempt failed or the server was rejected: next remote, maybe with backoff. */
  private attemptFailed(endpoint: RemoteEndpoint, reason: string): void {
    if (this.closed) return;
    this.warn(`${endpoint.text}: ${reason}`);
    this.failuresInRow++;
    this.remoteIndex = (this.remoteIndex + 1) % this.endpoints.length;
    const n = this.endpoints.length;
    const delay =
      this.failuresInRow < n
        ? 0
        : Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.min(16, this.failuresInRow - n));
    this.scheduleConnect(delay);
  }

  private async connect(endpoint: RemoteEndpoint): Promise<void> {
    if (this.closed) return;
    const generation = this.remotesGeneration;
    this.setState('connecting', { remote: endpoint.text });
    let conn: RpcConnection;
    try {
      conn = await RpcConnection.open(endpoint, {
        connectTimeoutMs: this.opts.timeouts?.connectMs ?? 10_000,
        logger: this.logger,
        ...(this.opts.probeIntervalMs === undefined ? {} : { probeIntervalMs: this.opts.probeIntervalMs }),
        ...(this.opts.maxFrameBytes === undefined ? {} : { maxFrameBytes: this.opts.maxFrameBytes }),
        ...(this.opts.tls === undefined ? {} : { tls: this.opts.tls }),
        ...(this.opts.dial === undefined ? {} : { dial: this.opts.dial }),
        timers: this.timers,
        onNotification: (method, params) => this.onNotification(conn, method, params),
        onClose: (error) => this.onConnectionClosed(conn, error),
      });
    } catch (e) {
      // setRemotes already started an attempt on the new list.
      if (generation !== this.remotesGeneration) return;
      this.attemptFailed(endpoint, (e as Error).message);
      return;
    }
    if (this.closed) {
      conn.close('client closed');
      return;
    }
    if (generation !== this.remotesGeneration) {
      conn.close('remotes changed');
      return;
    }
    this.startSession(conn);
    if (this.session?.conn === conn) this.requestLock(this.session);
  }

  private startSession(conn: RpcConnection, schemaFromServerRow = true): void {
    const n = ++this.sessionCounter;
    const session: Session = {
      conn,
      endpoint: conn.endpoint,
      serverMonitorId: `server-${n}`,
      dataMonitorId: `data-${n}`,
      serverRow: undefined,
      hasServerDb: false,
      serverAccepted: false,
      monitoring: false,
      monitoringSinceMs: undefined,
      method:
        this.opts.monitorMethod === undefined || this.opts.monitorMethod === 'auto'
          ? 'monitor_cond_since'
          : this.opts.monitorMethod,
      schemaFromServerRow,
    };
    this.session = session;
    this.setState('syncing', { remote: conn.endpoint.text });
    this.runHandshake(session).catch((e: unknown) => {
      if (this.session !== session) return;
      const reason = e instanceof Error ? e.message : String(e);
      this.session = undefined;
      conn.close(reason);
      if (!this.closed) this.attemptFailed(session.endpoint, reason);
    });
  }

  private onConnectionClosed(conn: RpcConnection, error: Error): void {
    const session = this.session;
    if (session === undefined || session.conn !== conn || this.closed) return;
    this.setLockHeld(false);
    this.session = undefined;
    let reason = error.message;
    if (session.endpoint.kind === 'ssl' && conn.bytesReceived === 0) {
      reason += ' (closed right after the TLS handshake: the server probably rejected our certificate)';
    }
    this.scheduleAfterSessionEnd(session, session.monitoring ? `connection lost: ${reason}` : reason);
  }

  /**
   * Drops the current connection (leader change, inconsistency, server rejected during the sync:
   * the C IDL's forced reconnect) and connects to the next remote.
   */
  private dropSession(session: Session, reason: string): void {
    if (this.session !== session || this.closed) return;
    this.session = undefined;
    this.setLockHeld(false);
    session.conn.close(reason);
    this.scheduleAfterSessionEnd(session, `reconnecting: ${reason}`);
  }

  /**
   * The backoff rule (docs/adr/0015): a session that stayed `monitoring` for at least
   * `backoff.maxMs` was a working connection, so the next remote is tried at once with a fresh
   * backoff. Any other end counts as one more failed attempt, so a server that drops us during
   * or right after every sync is retried with backoff, not in a zero-delay loop.
   */
  private scheduleAfterSessionEnd(session: Session, reason: string): void {
    const since = session.monitoringSinceMs;
    if (since !== undefined && this.now() - since >= this.maxBackoffMs) {
      this.warn(`${session.endpoint.text}: ${reason}`);
      this.failuresInRow = 0;
      this.remoteIndex = (this.remoteIndex + 1) % this.endpoints.length;
      this.scheduleConnect(0);
    } else {
      this.attemptFailed(session.endpoint, reason);
    }
  }

  // ---------------------------------------------------------------- the session FSM

  /** Resolves when the session is monitoring; throws to reject the server (next remote). */
  private async runHandshake(session: Session): Promise<void> {
    const timeoutMs = this.requestTimeout();
    const db = this.opts.database;

    // 1. _Server.Database row of our database (absent on servers before 2.9).
    session.serverRow = undefined;
    session.hasServerDb = await this.callApplying(
      session,
      'monitor_cond',
      [
        SERVER_DB,
        session.serverMonitorId,
        { Database: [{ columns: SERVER_COLUMNS, where: [['name', '==', db]] }] },
      ],
      timeoutMs,
      (result) => {
        this.applyServerUpdate(session, result);
        return true;
      },
    ).catch((e: unknown) => {
      if (e instanceof OvsdbRpcError) return false;
      throw e;
    });
    if (!this.isCurrent(session)) return;
    let schemaText: string | undefined;
    if (session.hasServerDb) {
      const problem = this.checkServer(session);
      if (problem !== undefined) throw new Error(problem);
      session.serverAccepted = true;
      if (session.schemaFromServerRow) schemaText = (session.serverRow as ServerDbRow | undefined)?.schema;
      if (this.opts.dbChangeAware ?? true) {
        await session.conn.request('set_db_change_aware', [true], { timeoutMs }).catch((e: unknown) => {
          if (!(e instanceof OvsdbRpcError)) throw e;
          this.logger.debug({ err: e.message }, 'set_db_change_aware refused');
        });
        if (!this.isCurrent(session)) return;
      }
    }

    // 2. The data schema, intersected with the client's.
    let serverSchemaJson: unknown;
    if (schemaText !== undefined && schemaText.length > 0) serverSchemaJson = JSON.parse(schemaText);
    else {
      serverSchemaJson = await session.conn.request('get_schema', [db], { timeoutMs });
      if (!this.isCurrent(session)) return;
    }
    const serverSchema = parseSchema(serverSchemaJson);
    this.adoptSchema(serverSchema);

    // 3. The data monitor.
    await this.requestDataMonitor(session);
  }

  private isCurrent(session: Session): boolean {
    return this.session === session && !this.closed;
  }

  /**
   * Sends a request whose reply must be applied in wire order (before notifications that follow
   * it): `apply` runs synchronously in the reply dispatch.
   */
  private callApplying<T>(
    session: Session,
    method: string,
    params: readonly unknown[],
    timeoutMs: number,
    apply: (result: unknown) => T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      session.conn.call(method, params, { timeoutMs }, (error, result) => {
        if (error !== undefined) {
          reject(error);
          return;
        }
        if (!this.isCurrent(session)) {
          reject(new Error('session superseded'));
          return;
        }
        try {
          resolve(apply(result));
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
  }

  private adoptSchema(serverSchema: DatabaseSchema): void {
    const tableNames = Object.keys(this.opts.tables);
    let intersection: SchemaIntersection;
    if (this.clientSchema !== undefined) {
      const subset = restrictSchema(
        this.clientSchema,
        Object.fromEntries(tableNames.map((t) => [t, undefined])),
      );
      intersection = intersectSchemas(subset, serverSchema);
    } else {
      const present = tableNames.filter((t) => serverSchema.tables.has(t));
      const subset = restrictSchema(serverSchema, Object.fromEntries(present.map((t) => [t, undefined])));
      intersection = intersectSchemas(subset, serverSchema);
      for (const t of tableNames)
        if (!serverSchema.tables.has(t))
          this.warn(`table ${t} is not in the server's ${serverSchema.name} schema`);
    }
    for (const w of intersection.warnings) this.warn(w);
    // Narrow to the requested columns.
    const columnsByTable: Record<string, readonly string[] | undefined> = {};
    for (const [name, table] of intersection.schema.tables) {
      const requested = this.opts.tables[name]?.columns;
      if (requested === undefined) columnsByTable[name] = undefined;
      else {
        const kept = requested.filter((c) => {
          if (table.columns.has(c)) return true;
          this.warn(`column ${name}.${c} is not replicated: the server or the client schema lacks it`);
          return false;
        });
        columnsByTable[name] = kept;
      }
    }
    const effective = restrictSchema(intersection.schema, columnsByTable);
    // A table the server did not have before but has now: its rows cannot be resumed.
    for (const t of this.missingTablesBefore)
      if (!intersection.missingTables.has(t)) this.lastTxnId = ZERO_UUID;
    this.missingTablesBefore = intersection.missingTables;
    this.intersection = intersection;
    this.effectiveSchema = effective;
    this.serverSchema = serverSchema;
    const signature = schemaSignature(effective);
    if (this.replica === undefined || signature !== this.replicaSignature) {
      const indexes = (this.opts.indexes ?? []).filter((i) => effective.tables.has(i.table));
      this.replica = new Replica(effective, { indexes });
      this.replicaSignature = signature;
      this.lastTxnId = ZERO_UUID;
    }
  }

  private monitorRequests(session: Session, conditions: ConditionMap): Record<string, unknown> {
    const schema = this.effectiveSchema as DatabaseSchema;
    const requests: Record<string, unknown> = {};
    for (const [name, table] of schema.tables) {
      const request: Record<string, unknown> = { columns: table.columnList.map((c) => c.name) };
      if (session.method !== 'monitor') {
        const cond = conditions.get(name) ?? true;
        const serverTable = this.serverSchema?.tables.get(name);
        if (cond !== true && serverTable !== undefined)
          request['where'] = encodeMonitorCondition(serverTable, cond, (m) => this.warn(m));
      }
      requests[name] = session.method === 'monitor' ? request : [request];
    }
    return requests;
  }

  private async requestDataMonitor(session: Session): Promise<void> {
    const db = this.opts.database;
    // Conditions: the newest wanted ones go with the initial request. Any pending change means
    // the rows we hold were selected by another condition: forget the last id (full reload).
    const pending = this.requested !== undefined || this.wanted.size > 0;
    const increments =
      (this.requested === undefined ? 0 : this.requestedIncrements) + (this.wanted.size > 0 ? 1 : 0);
    if (pending) this.lastTxnId = ZERO_UUID;
    const sent: ConditionMap = new Map(this.acked);
    for (const [t, c] of this.requested ?? []) sent.set(t, c);
    for (const [t, c] of this.wanted) sent.set(t, c);
    this.requested = pending ? sent : undefined;
    this.requestedIncrements = increments;
    this.wanted = new Map();
    const timeoutMs = this.opts.timeouts?.initialSyncMs ?? 300_000;

    for (;;) {
      const method = session.method;
      const requests = this.monitorRequests(session, sent);
      const params: unknown[] = [db, session.dataMonitorId, requests];
      if (method === 'monitor_cond_since') params.push(this.lastTxnId);
      try {
        const found = await this.callApplying(session, method, params, timeoutMs, (result) =>
          this.applyMonitorReply(session, method, result),
        );
        if (!this.isCurrent(session)) return;
        this.monitoringStarted(session, found);
        return;
      } catch (e) {
        const next = FALLBACK[method];
        if (!(e instanceof OvsdbRpcError) || next === undefined || !this.isCurrent(session)) throw e;
        this.logger.info(
          { remote: session.endpoint.text, method, err: e.message, next },
          'monitor method refused; falling back',
        );
        session.method = next;
      }
    }
  }

  /** Applies a data monitor reply synchronously; returns whether it resumed (found=true). */
  private applyMonitorReply(session: Session, method: MonitorMethod, result: unknown): boolean {
    if (method === 'monitor_cond_since') {
      if (
        !Array.isArray(result) ||
        result.length !== 3 ||
        typeof result[0] !== 'boolean' ||
        typeof result[1] !== 'string'
      ) {
        throw new Error(
          `malformed monitor_cond_since reply: ${String(JSON.stringify(result)).slice(0, 200)}`,
        );
      }
      const found = result[0];
      if (this.applyData(session, 'update2', result[2], !found)) this.lastTxnId = result[1];
      return found;
    }
    this.applyData(session, method === 'monitor' ? 'update' : 'update2', result, true);
    this.lastTxnId = ZERO_UUID;
    return false;
  }

  private setLockHeld(held: boolean): void {
    if (this.lockHeld === held) return;
    this.lockHeld = held;
    this.logger.info({ lock: this.opts.lock, held }, held ? 'ovsdb lock acquired' : 'ovsdb lock lost');
    this.emit(held ? 'locked' : 'lockLost');
  }

  /** True while the lock named in the options is held. */
  get hasLock(): boolean {
    return this.lockHeld;
  }

  /** Requests the lock on this connection; the answer or a later `locked` notification grants it. */
  private requestLock(session: Session): void {
    const name = this.opts.lock;
    if (name === undefined) return;
    const conn = session.conn;
    conn.call('lock', [name], { timeoutMs: this.requestTimeout() }, (error, result) => {
      if (this.session?.conn !== conn || this.closed) return;
      if (error !== undefined) {
        this.warn(`${session.endpoint.text}: lock ${name} request failed: ${error.message}`);
        return;
      }
      if (result !== null && typeof result === 'object' && (result as { locked?: unknown }).locked === true)
        this.setLockHeld(true);
    });
  }

  private monitoringStarted(session: Session, incremental: boolean): void {
    session.monitoring = true;
    session.monitoringSinceMs = this.now();
    if (this.requested !== undefined) {
      for (const [t, c] of this.requested) this.acked.set(t, c);
      this.requested = undefined;
      this.condSeqno += this.requestedIncrements;
      this.requestedIncrements = 0;
    }
    this.logger.info(
      { remote: session.endpoint.text, method: session.method, incremental, lastTxnId: this.lastTxnId },
      'ovsdb monitoring',
    );
    this.setState('monitoring', { remote: session.endpoint.text });
    this.emit('reconnect', { remote: session.endpoint.text, incremental, method: session.method });
    this.maybeSendConditionChange();
  }

  /** Applies table-updates to the replica; on inconsistency forgets the last id and resyncs. */
  private applyData(
    session: Session,
    format: 'update' | 'update2',
    tableUpdates: unknown,
    clear: boolean,
  ): boolean {
    const replica = this.replica;
    if (replica === undefined) return false;
    let batch: ChangeBatch;
    try {
      batch = replica.applyUpdate(format, tableUpdates, { clear });
    } catch (e) {
      // Whatever the cause (ReplicaInconsistencyError, DatumError, a throwing index key), the
      // replica no longer follows the server: never continue best effort (D6, pitfall 8).
      const message = e instanceof Error ? e.message : String(e);
      this.lastTxnId = ZERO_UUID;
      this.logger.error({ remote: session.endpoint.text, err: message }, 'replica inconsistent; full resync');
      this.dropSession(session, `replica inconsistency: ${message}`);
      return false;
    }
    this.changeSeqno++;
    this.emit('change', batch);
    this.checkWaiters();
    return true;
  }

  private onNotification(conn: RpcConnection, method: string, params: unknown): void {
    const session = this.session;
    if (session === undefined || session.conn !== conn) return;
    if (!Array.isArray(params)) return;
    const monitorId: unknown = params[0];
    switch (method) {
      case 'update':
      case 'update2':
        if (monitorId === session.dataMonitorId) this.applyData(session, method, params[1], false);
        else if (monitorId === session.serverMonitorId) {
          this.applyServerUpdate(session, params[1]);
          this.recheckServer(session);
        }
        return;
      case 'update3':
        if (monitorId === session.dataMonitorId) {
          if (this.applyData(session, 'update2', params[2], false) && typeof params[1] === 'string')
            this.lastTxnId = params[1];
        }
        return;
      case 'locked':
        if (monitorId === this.opts.lock) this.setLockHeld(true);
        return;
      case 'stolen':
        if (monitorId === this.opts.lock) this.setLockHeld(false);
        return;
      case 'monitor_canceled':
        if (monitorId === session.dataMonitorId || monitorId === session.serverMonitorId) {
          this.warn(
            `${session.endpoint.text}: server canceled monitor ${String(monitorId)} (schema converted or database removed); restarting`,
          );
          this.restartOnSameConnection(session);
        }
        return;
      default:
        this.logger.debug({ method }, 'notification ignored');
    }
  }

  private restartOnSameConnection(session: Session): void {
    if (!this.isCurrent(session)) return;
    this.lastTxnId = ZERO_UUID;
    const conn = session.conn;
    // Stale monitors of the old session are harmless: their ids are no longer recognised.
    this.startSession(conn, false);
  }

  // ---------------------------------------------------------------- _Server

  private applyServerUpdate(session: Session, tableUpdates: unknown): void {
    if (tableUpdates === null || typeof tableUpdates !== 'object') return;
    const rows = (tableUpdates as Record<string, unknown>)['Database'];
    if (rows === null || typeof rows !== 'object') return;
    for (const [uuid, rowUpdate] of Object.entries(rows as Record<string, unknown>)) {
      if (rowUpdate === null || typeof rowUpdate !== 'object') continue;
      const u = rowUpdate as Record<string, unknown>;
      if ('delete' in u) {
        if (session.serverRow?.uuid === uuid) session.serverRow = undefined;
        continue;
      }
      const values = (u['initial'] ?? u['insert'] ?? u['modify']) as Record<string, unknown> | undefined;
      if (values === undefined || values === null || typeof values !== 'object') continue;
      const isNew = !('modify' in u) || session.serverRow?.uuid !== uuid;
      const row: ServerDbRow =
        isNew || session.serverRow === undefined
          ? {
              uuid,
              name: '',
              model: 'standalone',
              connected: false,
              leader: false,
              schema: undefined,
              cid: undefined,
              index: undefined,
            }
          : session.serverRow;
      for (const [column, wire] of Object.entries(values)) {
        const v = unwrapOptional(wire);
        switch (column) {
          case 'name':
            if (typeof v === 'string') row.name = v;
            break;
          case 'model':
            if (typeof v === 'string') row.model = v;
            break;
          case 'connected':
            row.connected = v === true;
            break;
          case 'leader':
            row.leader = v === true;
            break;
          case 'schema':
            row.schema = typeof v === 'string' ? v : undefined;
            break;
          case 'cid':
            row.cid = typeof v === 'string' ? v.toLowerCase() : undefined;
            break;
          case 'index':
            row.index = typeof v === 'number' || typeof v === 'bigint' ? BigInt(v) : undefined;
            break;
          default:
            break;
        }
      }
      if (row.name === this.opts.database) session.serverRow = row;
    }
  }

  /** Why this server must not be used now, or undefined (lib/ovsdb-cs.c `ovsdb_cs_check_server_db__`). */
  private checkServer(session: Session): string | undefined {
    const row = session.serverRow;
    const db = this.opts.database;
    if (row === undefined) return `database ${db} is not on this server`;
    // The cid first: a server of another cluster must not touch minIndex.
    if (this.cid !== undefined && row.cid !== undefined && row.cid !== this.cid)
      return `cluster id ${row.cid} is not the pinned cid ${this.cid}`;
    if (row.schema === undefined || row.schema.length === 0)
      return `database ${db} has no schema yet (server not joined to the cluster?)`;
    if (row.model === 'clustered' || row.model === 'relay') {
      if (!row.connected) return `server is not connected to the ${db} cluster`;
      if (this.leaderOnly && (row.model === 'relay' || !row.leader))
        return `server is not the ${db} cluster leader (leaderOnly)`;
      if (row.index !== undefined) {
        if (row.cid !== undefined && this.minIndexCid !== undefined && row.cid !== this.minIndexCid) {
          // Indexes of different clusters are unrelated (the cluster was re-created).
          this.warn(
            `cluster id changed from ${this.minIndexCid} to ${row.cid}: forgetting the highest index seen (${this.minIndex})`,
          );
          this.resetMinIndex();
        }
        if (row.index < this.minIndex)
          return `server is stale: index ${row.index} < ${this.minIndex} seen before`;
        this.minIndex = row.index;
        if (row.cid !== undefined) this.minIndexCid = row.cid;
      }
    }
    return undefined;
  }

  /** Re-evaluates the row after every `_Server` update, from the initial check on (also while syncing). */
  private recheckServer(session: Session): void {
    if (!session.serverAccepted || !this.isCurrent(session)) return;
    const problem = this.checkServer(session);
    if (problem !== undefined) this.dropSession(session, problem);
  }

  // ---------------------------------------------------------------- conditions

  private maybeSendConditionChange(): void {
    const session = this.session;
    if (
      session === undefined ||
      !session.monitoring ||
      this.requested !== undefined ||
      this.wanted.size === 0
    )
      return;
    if (session.method === 'monitor') {
      // Plain `monitor` has no conditions: everything is replicated, so any condition is "in effect".
      for (const [t, c] of this.wanted) this.acked.set(t, c);
      this.wanted = new Map();
      this.condSeqno++;
      this.checkWaiters();
      return;
    }
    const sent = this.wanted;
    this.wanted = new Map();
    this.requested = sent;
    this.requestedIncrements = 1;
    const schema = this.effectiveSchema as DatabaseSchema;
    const changes: Record<string, unknown> = {};
    for (const [name, cond] of sent) {
      const serverTable = this.serverSchema?.tables.get(name);
      if (!schema.tables.has(name) || serverTable === undefined) continue;
      changes[name] = [{ where: encodeMonitorCondition(serverTable, cond, (m) => this.warn(m)) }];
    }
    session.conn.call(
      'monitor_cond_change',
      [session.dataMonitorId, session.dataMonitorId, changes],
      { timeoutMs: this.requestTimeout() },
      (error) => {
        if (!this.isCurrent(session)) return;
        if (error !== undefined) {
          this.dropSession(session, `monitor_cond_change failed: ${error.message}`);
          return;
        }
        for (const [t, c] of sent) this.acked.set(t, c);
        this.requested = undefined;
        this.requestedIncrements = 0;
        this.condSeqno++;
        this.checkWaiters();
        this.maybeSendConditionChange();
      },
    );
  }

  // ---------------------------------------------------------------- events and waiters

  private emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    for (const listener of this.listeners[event]) {
      try {
        (listener as (...a: Parameters<ClientEvents[K]>) => void)(...args);
      } catch (e) {
        this.logger.error({ event, err: (e as Error).message }, 'ovsdb client listener threw');
      }
    }
  }

  private warn(message: string): void {
    this.logger.warn({ database: this.opts.database }, message);
    if (this.warned.size > 1000) this.warned.clear();
    this.warned.add(message);
    this.emit('warning', message);
  }

  private waitFor(ready: () => boolean, signal: AbortSignal | undefined): Promise<void> {
    if (ready()) return Promise.resolve();
    if (this.closed) return Promise.reject(new ClientClosedError());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        ready,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  private checkWaiters(): void {
    for (const w of [...this.waiters]) {
      if (w.ready()) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }
}

// ---------------------------------------------------------------- helpers

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
}

/** `["set",[]]` → undefined, `["set",[x]]` → x, `["uuid",u]` → u, bare atom → itself. */
function unwrapOptional(wire: unknown): unknown {
  let v = wire;
  if (Array.isArray(v) && v[0] === 'set') {
    const inner: unknown = v[1];
    v = Array.isArray(inner) ? inner[0] : undefined;
  }
  if (Array.isArray(v) && v[0] === 'uuid') return v[1];
  return v;
}

function validateCondition(table: string, where: MonitorCondition): MonitorCondition {
  if (typeof where === 'boolean') return where;
  if (!Array.isArray(where))
    throw new OvsdbOptionsError(
      `condition for ${table} must be a boolean or an array of clauses, got ${safeShow(where)}`,
    );
  for (const clause of where as readonly unknown[]) {
    if (typeof clause === 'boolean') continue;
    if (
      clause === null ||
      typeof clause !== 'object' ||
      typeof (clause as { column?: unknown }).column !== 'string'
    ) {
      throw new OvsdbOptionsError(
        `condition for ${table}: bad clause ${safeShow(clause)} (build clauses with where(column, fn, value))`,
      );
    }
  }
  return where as MonitorCondition;
}

function safeShow(v: unknown): string {
  try {
    return (
      JSON.stringify(v, (_k, x: unknown) =>
        typeof x === 'bigint' ? x.toString() : x instanceof Map ? [...x] : x,
      ) ?? String(v)
    );
  } catch {
    return String(v);
  }
}

function conditionKey(c: MonitorCondition): string {
  if (typeof c === 'boolean') return String(c);
  return c.length === 0 ? 'false' : safeShow(c);
}

/**
 * Wire `where` of a monitor request, checked and encoded against the SERVER's table: clauses on
 * columns the server lacks are dropped with a warning, as the C IDL does (checklist E6); a
 * clause on a server column that is not replicated (not in `columns`) is valid and kept.
 */
function encodeMonitorCondition(
  table: TableSchema,
  cond: MonitorCondition,
  warn: (m: string) => void,
): unknown[] {
  if (typeof cond === 'boolean') return encodeMonitorWhere(table, cond);
  const kept = cond.filter((c) => {
    if (typeof c === 'boolean' || c.column === '_uuid' || table.columns.has(c.column)) return true;
    warn(
      `condition clause on ${table.name}.${c.column} dropped: the server's ${table.name} table has no such column`,
    );
    return false;
  });
  try {
    return encodeMonitorWhere(table, kept);
  } catch (e) {
    if (e instanceof SchemaError || e instanceof DatumError) {
      warn(`condition for ${table.name} cannot be encoded (${e.message}); replicating no rows`);
      return [false];
    }
    throw e;
  }
}

function schemaSignature(schema: DatabaseSchema): string {
  return [...schema.tables.values()]
    .map((t) => `${t.name}:${t.columnList.map((c) => c.name).join(',')}`)
    .join(';');
}

function emptyView(name: string): TableView {
  const none: Row[] = [];
  return {
    name,
    size: 0,
    get: () => undefined,
    all: () => [],
    find: () => [],
    lookup: () => none,
    lookupOne: () => undefined,
    [Symbol.iterator]: () => none[Symbol.iterator](),
  };
}
