/**
 * Building `transact` requests (RFC 7047 §4.1.3, §5.2) and classifying their replies the way the
 * C IDL does (lib/ovsdb-idl.c `ovsdb_idl_txn_process_reply`), see docs/adr/0021-ovsdb-transactions.md.
 *
 * Public API (stable):
 * - `new TransactionBuilder(schema)`: `insert` (returns a {@link NamedUuid} row reference named
 *   `row_<hex>`, usable in later values and conditions, also before the insert: forward
 *   references are legal), `update`, `mutate`, `delete`, `select`, `wait`, `verify`,
 *   `verifyNone`, `verifySome`, `increment`, `comment`, `assertLock`, `abort`, `raw`; then
 *   `build()` → {@link PreparedTransaction} whose `params` are the `transact` params `[db, op...]`.
 * - `classifyTransactResult(prepared, reply)` → {@link TxnOutcome}.
 *
 * Op order in the request: `assert` (locks) first, then every `verify` wait, then every
 * `verifyNone`/`verifySome` wait (so that they see the database as the replica saw it, before
 * this transaction's own writes), then the other ops
 * in call order, then `abort` (dry run). Handles returned by the builder stay valid across this
 * reordering (`PreparedTransaction.indexOf`), and `TransactionBuilder.handleAt` maps an outcome's
 * `opIndex` back to the handle, so callers attribute errors without knowing this order.
 *
 * Everything is validated against the schema while building; bad input throws a `SchemaError`
 * or `DatumError` naming the table, column and value.
 */

import type { Row } from './cache.js';
import { encodeTransactWhere, whereUuid, type ConditionClause } from './condition.js';
import {
  decodeDatum,
  encodeAtom,
  encodeDatum,
  isUuid,
  NamedUuid,
  type Datum,
  type DatumInput,
  type Uuid,
} from './datum.js';
import {
  findColumn,
  requireColumn,
  requireTable,
  SchemaError,
  type ColumnSchema,
  type DatabaseSchema,
  type TableSchema,
} from './schema.js';

/** Column values for `insert`/`update`/`wait` rows. */
export type RowInput = Readonly<Record<string, DatumInput>>;

/** Which rows an op applies to: one row by UUID or reference, or the rows matching all clauses (AND). */
export type RowSelector = Uuid | NamedUuid | readonly ConditionClause[];

export type Mutator = '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete';

export interface Mutation {
  readonly column: string;
  readonly mutator: Mutator;
  readonly value: DatumInput;
}

/** Builds a mutation; checked against the schema when added to a transaction. */
export function mutation(column: string, mutator: Mutator, value: DatumInput): Mutation {
  return Object.freeze({ column, mutator, value });
}

/** Refers to the result of a `select` in the outcome. */
export interface SelectHandle {
  readonly kind: 'select';
  readonly table: string;
}

/** Refers to the new value of an `increment` in the outcome. */
export interface IncrementHandle {
  readonly kind: 'increment';
  readonly table: string;
  readonly column: string;
}

/** Refers to the result of a `raw` op. */
export interface RawHandle {
  readonly kind: 'raw';
}

/** Refers to an `update`, `mutate` or `delete` op (to attribute an error outcome to it). */
export interface WriteHandle {
  readonly kind: 'write';
  readonly table: string;
}

export type OpHandle = SelectHandle | IncrementHandle | RawHandle | WriteHandle | NamedUuid;

export interface WaitSpec {
  readonly columns: readonly string[];
  readonly until: '==' | '!=';
  readonly rows: readonly RowInput[];
  /** Milliseconds the server may block the transaction; 0 = check once. Default: wait forever. */
  readonly timeoutMs?: number;
}

/** A transaction ready to send; immutable. */
export interface PreparedTransaction {
  readonly schema: DatabaseSchema;
  readonly database: string;
  readonly ops: readonly Readonly<Record<string, unknown>>[];
  /** The `transact` params: `[database, ...ops]`. */
  readonly params: readonly unknown[];
  /** True when an op may change the database (anything but wait/verify/select/comment/assert/abort). */
  readonly changesDatabase: boolean;
  /** Op index of a handle or insert reference returned by the builder. */
  indexOf(handle: OpHandle): number;
  /** Indexes of the ops produced by `verify`, `verifyNone` and `verifySome` ("timed out": try again). */
  readonly verifyOpIndexes: ReadonlySet<number>;
  readonly inserts: readonly NamedUuid[];
  readonly selects: readonly SelectHandle[];
  readonly increments: readonly IncrementHandle[];
}

interface PendingOp {
  readonly op: Record<string, unknown>;
  readonly handle?: OpHandle;
}

function show(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)
    );
  } catch {
    return String(value);
  }
}

/** See the top of this file. One builder makes one transaction. */
export class TransactionBuilder {
  readonly #schema: DatabaseSchema;
  readonly #asserts: PendingOp[] = [];
  readonly #verifies = new Map<string, { table: string; uuid: Uuid; row: Row; columns: Set<string> }>();
  /** `verifyNone`/`verifySome` waits, in call order, placed after the `verify` waits. */
  readonly #matchVerifies: PendingOp[] = [];
  readonly #main: PendingOp[] = [];
  #abort = false;
  #nextName = 1;
  #changes = false;

  constructor(schema: DatabaseSchema) {
    this.#schema = schema;
  }

  #table(name: string): TableSchema {
    return requireTable(this.#schema, name);
  }

  #where(table: TableSchema, selector: RowSelector): unknown[] {
    if (typeof selector === 'string') {
      if (!isUuid(selector))
        throw new SchemaError(`${table.name}: row selector ${show(selector)} is not a UUID`, table.name);
      return encodeTransactWhere(table, [whereUuid(selector)]);
    }
    if (selector instanceof NamedUuid) return encodeTransactWhere(table, [whereUuid(selector)]);
    return encodeTransactWhere(table, selector);
  }

  #encodeRow(table: TableSchema, row: RowInput, forUpdate: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(row)) {
      const column = table.columns.get(name);
      const place = `${table.name}.${name}`;
      if (column === undefined) {
        throw new SchemaError(`${place}: table ${table.name} has no writable column ${show(name)}`, place);
      }
      if (forUpdate && !column.mutable)
        throw new SchemaError(`${place}: column ${name} is immutable and cannot be updated`, place);
      out[name] = encodeDatum(column.type, value, place);
    }
    return out;
  }

  /**
   * Inserts a row. Returns a reference that stands for the new row's UUID in later values and
   * conditions of this transaction; the outcome maps it to the UUID (checklist C5). With
   * `uuid` (OVSDB 2.13+), the row gets that UUID, which makes the insert idempotent: a second
   * attempt fails with "duplicate uuid" instead of creating a duplicate (checklist G5).
   */
  insert(table: string, row: RowInput, options: { uuid?: Uuid } = {}): NamedUuid {
    const t = this.#table(table);
    const name = `row_${(this.#nextName++).toString(16)}`;
    const op: Record<string, unknown> = { op: 'insert', table, row: this.#encodeRow(t, row, false) };
    let ref: NamedUuid;
    if (options.uuid !== undefined) {
      if (!isUuid(options.uuid))
        throw new SchemaError(`${table}: explicit uuid ${show(options.uuid)} is not a UUID`, table);
      const uuid = options.uuid.toLowerCase();
      op['uuid'] = uuid;
      ref = new NamedUuid(name, table, uuid);
    } else {
      op['uuid-name'] = name;
      ref = new NamedUuid(name, table);
    }
    this.#main.push({ op, handle: ref });
    this.#changes = true;
    return ref;
  }

  /** Sets columns of the selected rows (immutable columns are refused). */
  update(table: string, selector: RowSelector, row: RowInput): WriteHandle {
    const t = this.#table(table);
    const op = { op: 'update', table, where: this.#where(t, selector), row: this.#encodeRow(t, row, true) };
    return this.#write(table, op);
  }

  /**
   * Mutates columns of the selected rows. Arithmetic mutators take one atom (integer or real
   * columns, `%=` integers only); `insert`/`delete` take a subset of a set column, or for maps a
   * map (`insert`, `delete` of matching pairs) or an array of keys (`delete` by key).
   */
  mutate(table: string, selector: RowSelector, mutations: readonly Mutation[]): WriteHandle {
    const t = this.#table(table);
    const encoded = mutations.map((m) => this.#encodeMutation(t, m));
    return this.#write(table, { op: 'mutate', table, where: this.#where(t, selector), mutations: encoded });
  }

  #write(table: string, op: Record<string, unknown>): WriteHandle {
    const handle: WriteHandle = Object.freeze({ kind: 'write', table });
    this.#main.push({ op, handle });
    this.#changes = true;
    return handle;
  }

  #encodeMutation(table: TableSchema, m: Mutation): unknown {
    const place = `${table.name}.${m.column}`;
    const column = table.columns.get(m.column);
    if (column === undefined)
      throw new SchemaError(`${place}: table ${table.name} has no column ${show(m.column)}`, place);
    if (!column.mutable)
      throw new SchemaError(`${place}: column ${m.column} is immutable and cannot be mutated`, place);
    const type = column.type;
    switch (m.mutator) {
      case '+=':
      case '-=':
      case '*=':
      case '/=':
      case '%=': {
        const keyType = type.key.type;
        if (
          column.kind === 'map' ||
          (keyType !== 'integer' && keyType !== 'real') ||
          (m.mutator === '%=' && keyType !== 'integer')
        ) {
          throw new SchemaError(
            `${place}: mutator "${m.mutator}" does not apply to a ${column.kind} of ${keyType}`,
            place,
          );
        }
        if (Array.isArray(m.value) || m.value === undefined || typeof m.value === 'object') {
          throw new SchemaError(
            `${place}: mutator "${m.mutator}" takes a single number, got ${show(m.value)}`,
            place,
          );
        }
        // The operand is not bound by the column's range constraints (ovsdb/mutation.c).
        return [m.column, m.mutator, encodeAtom({ type: keyType }, m.value, place)];
      }
      case 'insert':
      case 'delete': {
        if (column.kind === 'scalar')
          throw new SchemaError(
            `${place}: mutator "${m.mutator}" needs a set or map column, ${m.column} is a scalar`,
            place,
          );
        if (
          column.kind === 'map' &&
          m.mutator === 'delete' &&
          (Array.isArray(m.value) || m.value instanceof Set)
        ) {
          return [m.column, m.mutator, encodeDatum({ key: type.key, min: 0, max: Infinity }, m.value, place)];
        }
        const relaxed = { ...type, min: 0 as const, max: m.mutator === 'delete' ? Infinity : type.max };
        const value =
          column.kind === 'optional' && !Array.isArray(m.value) && !(m.value instanceof Set)
            ? [m.value]
            : m.value;
        return [m.column, m.mutator, encodeDatum(relaxed, value as DatumInput, place)];
      }
      default:
        throw new SchemaError(`${place}: unknown mutator ${show(m.mutator)}`, place);
    }
  }

  /** Deletes the selected rows. */
  delete(table: string, selector: RowSelector): WriteHandle {
    const t = this.#table(table);
    return this.#write(table, { op: 'delete', table, where: this.#where(t, selector) });
  }

  /** Reads the selected rows (optionally only some columns) as part of the transaction. */
  select(table: string, selector: RowSelector, columns?: readonly string[]): SelectHandle {
    const t = this.#table(table);
    const op: Record<string, unknown> = { op: 'select', table, where: this.#where(t, selector) };
    if (columns !== undefined) {
      for (const c of columns) requireColumn(t, c);
      op['columns'] = [...columns];
    }
    const handle: SelectHandle = Object.freeze({ kind: 'select', table });
    this.#main.push({ op, handle });
    return handle;
  }

  /**
   * Blocks (up to `timeoutMs`; 0 = check once) until the selected rows, projected on `columns`,
   * are (`==`) or are not (`!=`) exactly `rows`. A timeout fails the transaction with "timed out".
   */
  wait(table: string, selector: RowSelector, spec: WaitSpec): void {
    const t = this.#table(table);
    const columns = spec.columns.map((c) => requireColumn(t, c));
    const op: Record<string, unknown> = {
      op: 'wait',
      table,
      where: this.#where(t, selector),
      columns: [...spec.columns],
      until: spec.until,
      rows: spec.rows.map((r) => this.#projectRow(t, columns, r)),
    };
    if (spec.timeoutMs !== undefined) {
      if (!Number.isInteger(spec.timeoutMs) || spec.timeoutMs < 0) {
        throw new SchemaError(
          `${table}: wait timeout must be a non-negative integer, got ${show(spec.timeoutMs)}`,
          table,
        );
      }
      op['timeout'] = spec.timeoutMs;
    }
    if (spec.until !== '==' && spec.until !== '!=')
      throw new SchemaError(`${table}: wait "until" must be "==" or "!=", got ${show(spec.until)}`, table);
    this.#main.push({ op });
  }

  #projectRow(table: TableSchema, columns: readonly ColumnSchema[], row: RowInput): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const column of columns) {
      if (!(column.name in row) && column.kind !== 'optional') {
        throw new SchemaError(
          `${table.name}.${column.name}: wait row lacks column ${column.name}`,
          `${table.name}.${column.name}`,
        );
      }
      out[column.name] = encodeDatum(column.type, row[column.name], `${table.name}.${column.name}`);
    }
    return out;
  }

  /**
   * Makes the transaction fail with "try again" if, when it executes, `columns` of `row` no
   * longer hold the values the replica has (optimistic concurrency, the IDL's verify; checklist
   * G4). Becomes `wait timeout:0 until:"==" rows:[current values]`, placed before all writes.
   */
  verify(table: string, row: Row, columns: readonly string[]): void {
    const t = this.#table(table);
    for (const c of columns) {
      requireColumn(t, c);
      if (!(c in row))
        throw new SchemaError(
          `${table}.${c}: the row given to verify() has no value for ${c}`,
          `${table}.${c}`,
        );
    }
    const key = `${table}\u0000${row._uuid}`;
    const existing = this.#verifies.get(key);
    if (existing === undefined)
      this.#verifies.set(key, { table, uuid: row._uuid, row, columns: new Set(columns) });
    else for (const c of columns) existing.columns.add(c);
  }

  /**
   * Makes the transaction fail with "try again" if, when it executes, any row of `table` matches
   * all `clauses` (the replica showed none): e.g. that no Port named `x` exists, for an insert
   * that would otherwise fail on the name index when a concurrent writer created one first.
   * Becomes `wait timeout:0 where:clauses columns:[] until:"==" rows:[]`, placed before all
   * writes; its size does not depend on the table's size.
   */
  verifyNone(table: string, clauses: readonly ConditionClause[]): void {
    this.#verifyMatch(table, clauses, '==');
  }

  /**
   * Makes the transaction fail with "try again" unless, when it executes, at least one row of
   * `table` matches all `clauses` (the replica showed one): e.g. that a Bridge still `includes` a
   * Port about to be taken off it. Becomes `wait timeout:0 where:clauses columns:[] until:"!="
   * rows:[]`, placed before all writes.
   */
  verifySome(table: string, clauses: readonly ConditionClause[]): void {
    this.#verifyMatch(table, clauses, '!=');
  }

  #verifyMatch(table: string, clauses: readonly ConditionClause[], until: '==' | '!='): void {
    const t = this.#table(table);
    this.#matchVerifies.push({
      op: {
        op: 'wait',
        timeout: 0,
        table,
        where: encodeTransactWhere(t, clauses),
        columns: [],
        until,
        rows: [],
      },
    });
  }

  /**
   * Adds 1 to an integer column of one row and reads the new value back (mutate `+= 1` plus
   * select), e.g. `Open_vSwitch.next_cfg` to learn when ovs-vswitchd has applied the change.
   */
  increment(table: string, row: Uuid | Row, column: string): IncrementHandle {
    const t = this.#table(table);
    const c = requireColumn(t, column);
    if (c.kind !== 'scalar' || c.type.key.type !== 'integer') {
      throw new SchemaError(
        `${table}.${column}: increment needs a scalar integer column`,
        `${table}.${column}`,
      );
    }
    const uuid = typeof row === 'string' ? row : row._uuid;
    const where = this.#where(t, uuid);
    this.#main.push({ op: { op: 'mutate', table, where, mutations: [[column, '+=', 1]] } });
    const handle: IncrementHandle = Object.freeze({ kind: 'increment', table, column });
    this.#main.push({ op: { op: 'select', table, where, columns: [column] }, handle });
    this.#changes = true;
    return handle;
  }

  /** Adds a comment (ovsdb-server logs it). */
  comment(text: string): void {
    if (typeof text !== 'string') throw new SchemaError(`comment must be a string, got ${show(text)}`, '');
    this.#main.push({ op: { op: 'comment', comment: text } });
  }

  /** Makes the transaction fail with "not owner" unless this connection holds lock `name` (checklist G6). */
  assertLock(name: string): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SchemaError(`invalid lock name ${show(name)}`, '');
    this.#asserts.push({ op: { op: 'assert', lock: name } });
  }

  /** Dry run: the server checks everything and then aborts (the outcome is error "aborted"). */
  abort(): void {
    this.#abort = true;
  }

  /** Appends an op as is (no validation beyond having a string "op"). Counts as a change. */
  raw(op: Readonly<Record<string, unknown>>): RawHandle {
    if (typeof op['op'] !== 'string')
      throw new SchemaError(`raw op needs a string "op" member, got ${show(op)}`, '');
    const handle: RawHandle = Object.freeze({ kind: 'raw' });
    this.#main.push({ op: { ...op }, handle });
    this.#changes = true;
    return handle;
  }

  /**
   * The handle of the op that `opIndex` (as in an error {@link TxnOutcome}) names in the request
   * `build()` makes of this builder; undefined for a lock assert, a verify (of any kind), a wait, a comment or
   * an abort. Ask once nothing more is added: a client may add a lock assert or a comment after
   * the caller's build function, and an assert moves every later op.
   */
  handleAt(opIndex: number): OpHandle | undefined {
    const i = opIndex - this.#asserts.length - this.#verifies.size - this.#matchVerifies.length;
    return i < 0 ? undefined : this.#main[i]?.handle;
  }

  /** Produces the request; the builder can be built again (same result) but should not be reused. */
  build(): PreparedTransaction {
    const ordered: PendingOp[] = [...this.#asserts];
    const verifyOpIndexes = new Set<number>();
    for (const v of this.#verifies.values()) {
      const t = this.#table(v.table);
      const columns = [...v.columns];
      const values: Record<string, unknown> = {};
      for (const c of columns) values[c] = encodeDatum(requireColumn(t, c).type, v.row[c], `${v.table}.${c}`);
      verifyOpIndexes.add(ordered.length);
      ordered.push({
        op: {
          op: 'wait',
          timeout: 0,
          table: v.table,
          where: this.#where(t, v.uuid),
          columns,
          until: '==',
          rows: [values],
        },
      });
    }
    for (const m of this.#matchVerifies) {
      verifyOpIndexes.add(ordered.length);
      ordered.push(m);
    }
    ordered.push(...this.#main);
    if (this.#abort) ordered.push({ op: { op: 'abort' } });
    const indexes = new Map<OpHandle, number>();
    ordered.forEach((p, i) => {
      if (p.handle !== undefined) indexes.set(p.handle, i);
    });
    const ops = Object.freeze(ordered.map((p) => p.op));
    const handles = [...indexes.keys()];
    return Object.freeze({
      schema: this.#schema,
      database: this.#schema.name,
      ops,
      params: Object.freeze([this.#schema.name, ...ops]),
      changesDatabase: this.#changes,
      indexOf: (handle: OpHandle): number => {
        const i = indexes.get(handle);
        if (i === undefined) throw new Error('handle does not belong to this transaction');
        return i;
      },
      verifyOpIndexes,
      inserts: handles.filter((h): h is NamedUuid => h instanceof NamedUuid),
      selects: handles.filter((h): h is SelectHandle => !(h instanceof NamedUuid) && h.kind === 'select'),
      increments: handles.filter(
        (h): h is IncrementHandle => !(h instanceof NamedUuid) && h.kind === 'increment',
      ),
    });
  }
}

/** A decoded `select` result row: the selected columns (including `_uuid`/`_version` if selected). */
export type SelectedRow = Readonly<Record<string, Datum>>;

export interface TxnSuccess {
  readonly status: 'success';
  /** The raw per-op results, in op order. */
  readonly results: readonly unknown[];
  /** Insert references → the UUIDs the server gave the rows. */
  readonly uuids: ReadonlyMap<NamedUuid, Uuid>;
  readonly selected: ReadonlyMap<SelectHandle, readonly SelectedRow[]>;
  readonly incremented: ReadonlyMap<IncrementHandle, number | bigint>;
}

export type TryAgainReason =
  /** A `verify` wait failed: the replica was stale; rebuild from the replica after it changes. */
  | 'verify-failed'
  /** A user `wait` timed out (the C IDL treats every "timed out" as try-again). */
  | 'wait-timed-out'
  /** JSON-RPC "canceled" (e.g. schema conversion while the transaction waited). */
  | 'canceled'
  /** JSON-RPC "unknown database" (the database went away; the client must reconnect, F9). */
  | 'unknown-database'
  /** Not sent: the client was not monitoring (produced by the client, G3). */
  | 'not-monitoring';

/**
 * How a transaction ended. `unknown` (produced by the client, not by `classifyTransactResult`)
 * means the connection was lost or the client timed out while the request was in flight: the
 * transaction may or may not have committed (at-least-once semantics), so rebuild it from the
 * replica, guarded by verify/wait or explicit-uuid inserts, rather than resending it.
 */
export type TxnOutcome =
  | TxnSuccess
  | { readonly status: 'unchanged' }
  | { readonly status: 'tryAgain'; readonly reason: TryAgainReason; readonly details?: string }
  | { readonly status: 'notLocked'; readonly details?: string }
  | {
      readonly status: 'error';
      /** `op`: an op failed; `commit`: the commit failed (the extra result element); `rpc`: the
       * request was refused as a whole; `malformed`: the reply does not make sense. */
      readonly scope: 'op' | 'commit' | 'rpc' | 'malformed';
      /** The failing op (`ops.length` for a commit error); absent for `rpc`/`malformed`. */
      readonly opIndex?: number;
      readonly error: string;
      readonly details?: string;
      readonly syntax?: string;
    }
  | { readonly status: 'unknown'; readonly reason: 'disconnected' | 'timeout' };

/** A JSON-RPC reply to `transact`: exactly one of `result` and `error` is non-null. */
export interface TransactReply {
  readonly result?: unknown;
  readonly error?: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorParts(error: unknown): { error: string; details?: string; syntax?: string } {
  if (typeof error === 'string') return { error };
  if (isObject(error)) {
    const out: { error: string; details?: string; syntax?: string } = {
      error: typeof error['error'] === 'string' ? error['error'] : show(error),
    };
    if (typeof error['details'] === 'string') out.details = error['details'];
    if (typeof error['syntax'] === 'string') out.syntax = error['syntax'];
    return out;
  }
  return { error: show(error) };
}

function malformed(details: string): TxnOutcome {
  return { status: 'error', scope: 'malformed', error: 'malformed transact reply', details };
}

/**
 * Classifies a `transact` reply (checklist G1, G2): every element is checked; the array has one
 * element per op, or one more when the commit itself failed; an error is followed by `null`s.
 * "timed out" → tryAgain (`verify-failed` when the op came from `verify`), "not owner" →
 * notLocked, JSON-RPC "canceled" / "unknown database" → tryAgain, everything else → error.
 * A reply that breaks these rules is an error with scope `malformed`.
 */
export function classifyTransactResult(prepared: PreparedTransaction, reply: TransactReply): TxnOutcome {
  if (reply.error !== undefined && reply.error !== null) {
    const parts = errorParts(reply.error);
    const details = parts.details === undefined ? {} : { details: parts.details };
    if (parts.error === 'canceled') return { status: 'tryAgain', reason: 'canceled', ...details };
    if (parts.error === 'unknown database')
      return { status: 'tryAgain', reason: 'unknown-database', ...details };
    return { status: 'error', scope: 'rpc', ...parts };
  }
  const result = reply.result;
  const n = prepared.ops.length;
  if (!Array.isArray(result)) return malformed(`result is not an array: ${show(result)}`);
  if (result.length !== n && result.length !== n + 1) {
    return malformed(`${result.length} result elements for ${n} operations`);
  }
  for (let i = 0; i < result.length; i++) {
    const element: unknown = result[i];
    if (isObject(element) && element['error'] !== undefined && element['error'] !== null) {
      const parts = errorParts(element['error']);
      if (typeof element['details'] === 'string') parts.details = element['details'];
      if (typeof element['syntax'] === 'string') parts.syntax = element['syntax'];
      const details = parts.details === undefined ? {} : { details: parts.details };
      if (parts.error === 'timed out') {
        return {
          status: 'tryAgain',
          reason: prepared.verifyOpIndexes.has(i) ? 'verify-failed' : 'wait-timed-out',
          ...details,
        };
      }
      if (parts.error === 'not owner') return { status: 'notLocked', ...details };
      return { status: 'error', scope: i === n ? 'commit' : 'op', opIndex: i, ...parts };
    }
    if (i === n) return malformed(`extra result element ${show(element)} is not a commit error`);
    if (!isObject(element)) return malformed(`result of op ${i} is ${show(element)}, expected an object`);
  }
  return decodeSuccess(prepared, result);
}

function decodeSuccess(prepared: PreparedTransaction, results: readonly unknown[]): TxnOutcome {
  const uuids = new Map<NamedUuid, Uuid>();
  for (const ref of prepared.inserts) {
    const i = prepared.indexOf(ref);
    const r = results[i] as Record<string, unknown>;
    const u = r['uuid'];
    if (!Array.isArray(u) || u[0] !== 'uuid' || !isUuid(u[1]))
      return malformed(`insert op ${i} returned ${show(r)}`);
    uuids.set(ref, u[1].toLowerCase());
  }
  const selected = new Map<SelectHandle, readonly SelectedRow[]>();
  const decodeRows = (i: number, table: string): readonly SelectedRow[] | string => {
    const r = results[i] as Record<string, unknown>;
    const rows = r['rows'];
    if (!Array.isArray(rows)) return `select op ${i} returned ${show(r)}`;
    const t = prepared.schema.tables.get(table);
    const out: SelectedRow[] = [];
    for (const row of rows) {
      if (!isObject(row)) return `select op ${i} returned the row ${show(row)}`;
      const decoded: Record<string, Datum> = {};
      for (const [name, wire] of Object.entries(row)) {
        const column = t === undefined ? undefined : findColumn(t, name);
        if (column === undefined) continue;
        try {
          decoded[name] = decodeDatum(column.type, wire, `${table}.${name}`);
        } catch (error) {
          return `select op ${i}: ${error instanceof Error ? error.message : show(error)}`;
        }
      }
      out.push(Object.freeze(decoded));
    }
    return Object.freeze(out);
  };
  for (const handle of prepared.selects) {
    const rows = decodeRows(prepared.indexOf(handle), handle.table);
    if (typeof rows === 'string') return malformed(rows);
    selected.set(handle, rows);
  }
  const incremented = new Map<IncrementHandle, number | bigint>();
  for (const handle of prepared.increments) {
    const rows = decodeRows(prepared.indexOf(handle), handle.table);
    if (typeof rows === 'string') return malformed(rows);
    const value = rows[0]?.[handle.column];
    if (rows.length !== 1 || (typeof value !== 'number' && typeof value !== 'bigint')) {
      return malformed(`increment of ${handle.table}.${handle.column} selected ${rows.length} rows`);
    }
    incremented.set(handle, value);
  }
  return { status: 'success', results: Object.freeze([...results]), uuids, selected, incremented };
}
