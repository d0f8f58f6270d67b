/**
 * The replica: an in-memory copy of the monitored part of one database, fed with the table-updates
 * of `update` (monitor v1), `update2` (monitor_cond) and `update3` (monitor_cond_since)
 * notifications and monitor replies (RFC 7047 §4.1.6, ovsdb-server.7 §4.1.14).
 *
 * Public API (stable):
 * - `new Replica(schema, { indexes })`: `schema` lists exactly the replicated tables and columns
 *   (see `restrictSchema` / `intersectSchemas` in schema.ts).
 * - `replica.applyUpdate(format, tableUpdates, { clear })` → {@link ChangeBatch}: applies one
 *   message atomically. `clear: true` replaces the whole content (monitor reply after a
 *   reconnect that could not resume, `found=false`). Throws {@link ReplicaInconsistencyError} and
 *   leaves the replica exactly as it was when the message does not apply.
 * - `replica.clear()` → {@link ChangeBatch} with `cleared: true`.
 * - `replica.seqno`: incremented once per applied batch (including `clear`).
 * - `replica.table(name)` → {@link TableView}: `get`, `all`, `size`, `find`, iteration, `lookup`
 *   and `lookupOne` on indexes declared with {@link IndexSpec} (or `columnIndex`/`mapKeyIndex`).
 *
 * Contracts:
 * - Rows are frozen objects with `_uuid` and every replicated column (defaults filled in for
 *   omitted columns, checklist C3); a change replaces the row object, so consumers may keep old
 *   references (they stay valid snapshots). Values follow datum.ts.
 * - Each call returns exactly one batch (checklist D7); all references inside a message resolve
 *   once it is applied, because the batch is committed as a whole.
 * - Indexes are maintained incrementally: the work per message is proportional to the rows it
 *   changes, never to the table size (except `clear`).
 * - Applying a message is all-or-nothing: everything is computed and validated first (including
 *   index keys), then committed; a failure throws before anything is changed.
 *
 * Memory (DESIGN §4: agent RSS with 10,000 plugged ports): values are shared where readers cannot
 * tell. Empty sets and maps are shared frozen constants (as the empty default map already was,
 * ADR 0020); a decoded map equal to the previous map decoded for the same column is replaced by
 * that one, made read-only (`freezeMap`), so e.g. 10,000 bindings with the same `options` hold
 * one Map; a UUID atom referencing a replicated table is the `_uuid` string of the referenced row
 * when the replica has it (referenced tables are staged first within a message), so a UUID is
 * kept once, not once per reference. Measured at 10,000 ports: replica rows 13.6 → 8.9 MB.
 */

import {
  applyDatumDiff,
  DatumError,
  decodeDatum,
  isDatumMap,
  isUuid,
  type Datum,
  type Uuid,
  type UuidInterner,
} from './datum.js';
import {
  columnDefault,
  freezeMap,
  type Atom,
  type ColumnSchema,
  type DatabaseSchema,
  type TableSchema,
} from './schema.js';

/** A replicated row: `_uuid` plus every replicated column (in the representation of datum.ts). */
export interface Row {
  readonly _uuid: Uuid;
  readonly [column: string]: Datum;
}

/** Row types per table name; the default treats every table as generic rows. */
export type RowTypes = { readonly [table: string]: Row };

/** A primitive usable as an index key. */
export type IndexKey = string | number | bigint | boolean;

/**
 * A user-declared index over one table. `key` returns the key(s) a row is found under (`undefined`
 * or an empty array: not in the index). It must be a pure function of the row.
 */
export interface IndexSpec<R extends Row = Row> {
  /** Unique within the replica; used with `TableView.lookup`. */
  readonly name: string;
  readonly table: string;
  key(row: R): IndexKey | readonly IndexKey[] | undefined;
}

/** A row that changed: the new row, the row it replaced, and the columns the update named. */
export interface RowChange<R extends Row = Row> {
  readonly row: R;
  readonly old: R;
  readonly columns: readonly string[];
}

export interface TableChanges<R extends Row = Row> {
  readonly inserted: readonly R[];
  readonly modified: readonly RowChange<R>[];
  readonly deleted: readonly R[];
}

/**
 * What one applied message changed. With `cleared: true` everything known before is gone and
 * `inserted` lists the complete new content of each table (no `deleted` entries are produced for
 * the rows that disappeared with the reset).
 */
export interface ChangeBatch<S extends RowTypes = RowTypes> {
  readonly seqno: number;
  readonly cleared: boolean;
  /** Only tables with changes are present. */
  readonly tables: { readonly [T in keyof S]?: TableChanges<S[T]> };
}

export type UpdateFormat = 'update' | 'update2' | 'update3';

export type InconsistencyReason =
  'insert-existing' | 'modify-missing' | 'delete-missing' | 'invalid-value' | 'unknown-table' | 'malformed';

/**
 * An update message does not apply to the replica (the C IDL's "inconsistent" case, checklist D6).
 * The replica is unchanged; the client must forget its last transaction id and resynchronise.
 */
export class ReplicaInconsistencyError extends Error {
  override readonly name = 'ReplicaInconsistencyError';
  readonly reason: InconsistencyReason;
  readonly table: string | undefined;
  readonly uuid: string | undefined;
  constructor(
    reason: InconsistencyReason,
    message: string,
    context: { table?: string; uuid?: string; cause?: unknown } = {},
  ) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.reason = reason;
    this.table = context.table;
    this.uuid = context.uuid;
  }
}

/** Read access to one replicated table. Views are live: they always show the current content. */
export interface TableView<R extends Row = Row> extends Iterable<R> {
  readonly name: string;
  readonly size: number;
  get(uuid: Uuid): R | undefined;
  /** A new array with all rows (in insertion order). */
  all(): R[];
  find(predicate: (row: R) => boolean): R[];
  /** Rows found under `key` in the index named `indexName` (which must belong to this table). */
  lookup(indexName: string, key: IndexKey): readonly R[];
  /** The first row found under `key`, for indexes whose keys are unique. */
  lookupOne(indexName: string, key: IndexKey): R | undefined;
}

export interface ReplicaOptions {
  readonly indexes?: readonly IndexSpec[];
}

/** An index over a column: scalar/optional value as the key, or every element of a set. */
export function columnIndex(name: string, table: string, column: string): IndexSpec {
  return {
    name,
    table,
    key(row: Row): IndexKey | readonly IndexKey[] | undefined {
      const v = row[column];
      return isDatumMap(v) ? undefined : v;
    },
  };
}

/** An index over the value of one key of a map column, e.g. `Interface.external_ids:iface-id`. */
export function mapKeyIndex(name: string, table: string, column: string, mapKey: string): IndexSpec {
  return {
    name,
    table,
    key(row: Row): IndexKey | undefined {
      const v = row[column];
      return isDatumMap(v) ? v.get(mapKey) : undefined;
    },
  };
}

const NO_KEYS: readonly IndexKey[] = Object.freeze([]);

function keysOf(spec: IndexSpec, row: Row): readonly IndexKey[] {
  const k = spec.key(row);
  if (k === undefined) return NO_KEYS;
  if (Array.isArray(k)) return k as readonly IndexKey[];
  return [k as IndexKey];
}

function sameKeys(a: readonly IndexKey[], b: readonly IndexKey[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

class IndexState {
  readonly entries = new Map<IndexKey, Set<Uuid>>();
  constructor(readonly spec: IndexSpec) {}

  add(uuid: Uuid, keys: readonly IndexKey[]): void {
    for (const key of keys) {
      let set = this.entries.get(key);
      if (set === undefined) {
        set = new Set();
        this.entries.set(key, set);
      }
      set.add(uuid);
    }
  }

  remove(uuid: Uuid, keys: readonly IndexKey[]): void {
    for (const key of keys) {
      const set = this.entries.get(key);
      if (set === undefined) continue;
      set.delete(uuid);
      if (set.size === 0) this.entries.delete(key);
    }
  }
}

/** Per replicated column: what decoding needs, without per-row string building. */
interface ColumnState {
  readonly column: ColumnSchema;
  /** `Table.column`, for error messages. */
  readonly where: string;
  /** A map column (its values are shared, see the top of the file). */
  readonly map: boolean;
  /** A column of references to a replicated table (its UUIDs are interned). */
  readonly references: boolean;
  /** A map column whose keys and values are not UUIDs: its wire pairs are compared as they are. */
  readonly plainMap: boolean;
  /** Map columns: the last non-empty map decoded for this column (a candidate for sharing). */
  lastMap: ReadonlyMap<Atom, Atom> | undefined;
  /** The wire pairs `lastMap` was decoded from (plain map columns), if it came from a full value. */
  lastPairs: readonly unknown[] | undefined;
  /** Whether `lastMap` is already shared (made read-only). */
  lastShared: boolean;
  /** Consecutive decoded maps that differed from the candidate. */
  misses: number;
  /** Maps still to decode without trying to share (after {@link SHARE_GIVE_UP} misses). */
  paused: number;
}

/**
 * A column whose maps keep differing (e.g. `external_ids:iface-id`) stops trying to share for a
 * while, so that tables of distinct maps pay (almost) nothing for the comparisons.
 */
const SHARE_GIVE_UP = 256;
const SHARE_PAUSE = 4096;

/** Whether to try sharing the next map of this column (counts down a pause). */
function sharing(state: ColumnState): boolean {
  if (state.paused === 0) return true;
  state.paused--;
  return false;
}

function columnState(table: TableSchema, column: ColumnSchema, replicated: ReadonlySet<string>): ColumnState {
  const { key, value } = column.type;
  const refersTo = (ref: string | undefined): boolean => ref !== undefined && replicated.has(ref);
  return {
    column,
    where: `${table.name}.${column.name}`,
    map: value !== undefined,
    references: refersTo(key.refTable) || refersTo(value?.refTable),
    plainMap: value !== undefined && key.type !== 'uuid' && value.type !== 'uuid',
    lastMap: undefined,
    lastPairs: undefined,
    lastShared: false,
    misses: 0,
    paused: 0,
  };
}

interface TableState {
  readonly schema: TableSchema;
  /** Creates and copies the row objects of this table. */
  readonly rowFactory: RowFactory;
  readonly columnsByName: ReadonlyMap<string, ColumnState>;
  rows: Map<Uuid, Row>;
  readonly indexes: IndexState[];
  /** Position in the staging order: tables referenced by other replicated tables come first. */
  rank: number;
  /** Whether a replicated column references this table (its UUIDs are interned, see the top). */
  referenced: boolean;
  /** While a message is staged, for a referenced table: the rows it inserts, by UUID. */
  staging: Map<Uuid, Row> | undefined;
}

/**
 * Sharing of equal maps (see the top of the file). The candidate is the last non-empty map
 * decoded for the column: comparing with one candidate costs no allocation and catches the common
 * case of many rows with the same map (initial dumps list a table's rows one after the other).
 */
function shareCandidate(state: ColumnState): ReadonlyMap<Atom, Atom> {
  const candidate = state.lastMap as ReadonlyMap<Atom, Atom>;
  if (!state.lastShared) {
    freezeMap(candidate);
    state.lastShared = true;
  }
  state.misses = 0;
  return candidate;
}

/**
 * For a full map value in wire notation: the candidate when the wire pairs are equal atom for atom
 * to those it was decoded from (no decoding needed then: the same wire value decodes and
 * validates the same way); else `undefined`.
 */
function sharedByWire(state: ColumnState, wire: unknown): ReadonlyMap<Atom, Atom> | undefined {
  const last = state.lastPairs;
  if (last === undefined || !Array.isArray(wire) || wire.length !== 2 || wire[0] !== 'map') return undefined;
  const pairs: unknown = wire[1];
  // The same array objects again (a caller reusing and changing its message) prove nothing.
  if (!Array.isArray(pairs) || pairs === last || pairs.length !== last.length) return undefined;
  for (let i = 0; i < pairs.length; i++) {
    const p: unknown = pairs[i];
    const q = last[i] as readonly unknown[];
    if (!Array.isArray(p) || p === q || p.length !== 2 || p[0] !== q[0] || p[1] !== q[1]) return undefined;
  }
  return shareCandidate(state);
}

/** A decoded map, or the candidate when it holds the same entries. */
function shareMap(state: ColumnState, map: ReadonlyMap<Atom, Atom>, wire: unknown): ReadonlyMap<Atom, Atom> {
  const candidate = state.lastMap;
  if (candidate === map || map.size === 0) return map;
  // A plain map whose wire pairs differed from the candidate's is (nearly always) different.
  const compare = candidate !== undefined && (state.lastPairs === undefined || wire === undefined);
  if (compare && candidate.size === map.size && sameEntries(map, candidate)) {
    return shareCandidate(state);
  }
  if (candidate !== undefined && ++state.misses >= SHARE_GIVE_UP) {
    state.misses = 0;
    state.paused = SHARE_PAUSE;
    state.lastMap = undefined;
    state.lastPairs = undefined;
    return map;
  }
  state.lastMap = map;
  state.lastShared = false;
  // Only a full value (decoded, not a diff) has pairs that decode to `map` by themselves.
  state.lastPairs = state.plainMap && wire !== undefined ? ((wire as unknown[])[1] as unknown[]) : undefined;
  return map;
}

function sameEntries(map: ReadonlyMap<Atom, Atom>, other: ReadonlyMap<Atom, Atom>): boolean {
  for (const [key, value] of map) if (other.get(key) !== value) return false; // atoms are never undefined
  return true;
}

type StagedOp =
  | { kind: 'insert'; uuid: Uuid; row: Row; newKeys: readonly (readonly IndexKey[])[] }
  | {
      kind: 'modify';
      uuid: Uuid;
      row: Row;
      old: Row;
      columns: readonly string[];
      oldKeys: readonly (readonly IndexKey[])[];
      newKeys: readonly (readonly IndexKey[])[];
    }
  | { kind: 'delete'; uuid: Uuid; old: Row; oldKeys: readonly (readonly IndexKey[])[] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function brief(value: unknown): string {
  let text: string;
  try {
    text =
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

const EMPTY_ROWS: readonly never[] = Object.freeze([]);
const NO_INDEX_KEYS: readonly (readonly IndexKey[])[] = Object.freeze([]);

function inconsistent(table: string, uuid: Uuid, reason: InconsistencyReason, what: string): never {
  throw new ReplicaInconsistencyError(reason, `${table} row ${uuid}: ${what}`, { table, uuid });
}

type RowConstructor = new (
  uuid: Uuid,
  values: Readonly<Record<string, Datum>> | readonly Datum[],
) => Record<string, Datum>;

/** Creates the row objects of one table (see {@link rowFactory}). */
interface RowFactory {
  /** A new row with `_uuid` and every column at its default. */
  create(uuid: Uuid): Record<string, Datum>;
  /** A new, unfrozen copy of `row`, to be changed and then frozen. */
  copy(row: Row): Record<string, Datum>;
}

/**
 * Row objects are made by a constructor generated for the table (fixed property assignments):
 * V8 then gives all rows of a table one shape with in-object properties, which made building
 * rows of a 35-column table 15-30x faster than cloning a template object (spread) or adding
 * properties in a loop (measured with Node 20; this keeps 100,000-row initial dumps and large
 * modify batches fast, DESIGN §4). The generated code contains only the column names, written as
 * JSON string literals, and no values (docs/adr/0022-ovsdb-replica.md).
 */
function rowFactory(table: TableSchema): RowFactory {
  const defaults = table.columnList.map((c) => columnDefault(c));
  const body = [
    'const copy = !Array.isArray(values);',
    'this._uuid = uuid;',
    ...table.columnList.map((c, i) => {
      const name = JSON.stringify(c.name);
      return `this[${name}] = copy ? values[${name}] : values[${i}];`;
    }),
  ];
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see the doc comment: generated from column names only
  const construct = new Function('uuid', 'values', body.join('\n'));
  // Rows are plain objects (prototype Object.prototype), like the rest of the decoded data.
  construct.prototype = Object.prototype;
  const Ctor = construct as RowConstructor;
  return {
    create: (uuid) => new Ctor(uuid, defaults),
    copy: (row) => new Ctor(row._uuid, row),
  };
}

/** The replica of one database; see the top of this file. */
export class Replica<S extends RowTypes = RowTypes> {
  readonly schema: DatabaseSchema;
  #seqno = 0;
  readonly #tables = new Map<string, TableState>();
  readonly #indexesByName = new Map<string, { table: string; state: IndexState }>();
  readonly #views = new Map<string, TableView>();
  /** See {@link UuidInterner}: the `_uuid` of the referenced row, staged or replicated. */
  readonly #intern: UuidInterner = (refTable, uuid) => {
    const target = this.#tables.get(refTable);
    if (target === undefined) return uuid;
    const row = target.staging?.get(uuid) ?? target.rows.get(uuid);
    return row === undefined ? uuid : row._uuid;
  };

  constructor(schema: DatabaseSchema, options: ReplicaOptions = {}) {
    this.schema = schema;
    const replicated = new Set(schema.tables.keys());
    for (const table of schema.tables.values()) {
      this.#tables.set(table.name, {
        schema: table,
        rowFactory: rowFactory(table),
        columnsByName: new Map(table.columnList.map((c) => [c.name, columnState(table, c, replicated)])),
        rows: new Map(),
        indexes: [],
        rank: 0,
        referenced: false,
        staging: undefined,
      });
    }
    this.#rankTables();
    for (const spec of options.indexes ?? []) this.addIndex(spec);
  }

  /** Marks referenced tables and orders the tables so that referenced ones are staged first. */
  #rankTables(): void {
    const refs = new Map<string, Set<string>>();
    for (const table of this.schema.tables.values()) {
      const targets = new Set<string>();
      for (const column of table.columnList) {
        for (const base of [column.type.key, column.type.value]) {
          if (base?.refTable !== undefined && this.#tables.has(base.refTable)) targets.add(base.refTable);
        }
      }
      for (const target of targets) (this.#tables.get(target) as TableState).referenced = true;
      refs.set(table.name, targets);
    }
    // Depth-first post-order over the references; a cycle is cut where it is found.
    let next = 0;
    const visiting = new Set<string>();
    const visit = (name: string): void => {
      const state = this.#tables.get(name) as TableState;
      if (state.rank !== 0 || visiting.has(name)) return;
      visiting.add(name);
      for (const target of refs.get(name) ?? []) visit(target);
      state.rank = ++next;
    };
    for (const name of this.#tables.keys()) visit(name);
  }

  /** Incremented once per applied batch; 0 before the first. */
  get seqno(): number {
    return this.#seqno;
  }

  /**
   * Declares an index. On a non-empty table it is built from the current rows once; afterwards it
   * is maintained incrementally. Throws when the name is taken or the table is not replicated.
   */
  addIndex<R extends Row>(spec: IndexSpec<R>): void {
    const table = this.#tables.get(spec.table);
    if (table === undefined)
      throw new Error(
        `index ${JSON.stringify(spec.name)}: table ${JSON.stringify(spec.table)} is not replicated`,
      );
    if (this.#indexesByName.has(spec.name))
      throw new Error(`index ${JSON.stringify(spec.name)} is already declared`);
    const generic: IndexSpec = spec;
    const state = new IndexState(generic);
    for (const row of table.rows.values()) state.add(row._uuid, keysOf(generic, row));
    table.indexes.push(state);
    this.#indexesByName.set(spec.name, { table: spec.table, state });
  }

  /** A live view of a replicated table; throws for a table that is not replicated. */
  table<T extends keyof S & string>(name: T): TableView<S[T]> {
    const cached = this.#views.get(name);
    if (cached !== undefined) return cached as TableView<S[T]>;
    const state = this.#tables.get(name);
    if (state === undefined) throw new Error(`table ${JSON.stringify(name)} is not replicated`);
    const view = this.#makeView(state);
    this.#views.set(name, view);
    return view as TableView<S[T]>;
  }

  #makeView(state: TableState): TableView {
    const lookup = (indexName: string, key: IndexKey): readonly Row[] => {
      const entry = this.#indexesByName.get(indexName);
      if (entry === undefined || entry.table !== state.schema.name) {
        throw new Error(`table ${state.schema.name} has no index ${JSON.stringify(indexName)}`);
      }
      const uuids = entry.state.entries.get(key);
      if (uuids === undefined) return EMPTY_ROWS;
      const rows: Row[] = [];
      for (const uuid of uuids) {
        const row = state.rows.get(uuid);
        if (row !== undefined) rows.push(row);
      }
      return rows;
    };
    return {
      name: state.schema.name,
      get size(): number {
        return state.rows.size;
      },
      get: (uuid) => state.rows.get(uuid),
      all: () => [...state.rows.values()],
      find: (predicate) => {
        const out: Row[] = [];
        for (const row of state.rows.values()) if (predicate(row)) out.push(row);
        return out;
      },
      lookup,
      lookupOne: (indexName, key) => lookup(indexName, key)[0],
      [Symbol.iterator]: () => state.rows.values(),
    };
  }

  /** Forgets every row (before a full resync). Returns a batch with `cleared: true` and no rows. */
  clear(): ChangeBatch<S> {
    for (const table of this.#tables.values()) {
      table.rows = new Map();
      for (const index of table.indexes) index.entries.clear();
      for (const column of table.columnsByName.values()) {
        column.lastMap = undefined;
        column.lastPairs = undefined;
        column.misses = 0;
        column.paused = 0;
      }
    }
    this.#seqno++;
    return { seqno: this.#seqno, cleared: true, tables: {} };
  }

  /**
   * Applies the `<table-updates>` of one message atomically and returns its batch.
   * `format` says how to read row updates: `update` = monitor v1 (`{old, new}`), `update2` and
   * `update3` = `{initial|insert|modify|delete}`. With `clear: true` the content is replaced.
   */
  applyUpdate(
    format: UpdateFormat,
    tableUpdates: unknown,
    options: { clear?: boolean } = {},
  ): ChangeBatch<S> {
    const clear = options.clear === true;
    if (!isPlainObject(tableUpdates)) {
      throw new ReplicaInconsistencyError(
        'malformed',
        `table-updates must be an object, got ${brief(tableUpdates)}`,
      );
    }
    const tables: { state: TableState; rowUpdates: Record<string, unknown> }[] = [];
    for (const tableName in tableUpdates) {
      const rowUpdates = tableUpdates[tableName];
      const state = this.#tables.get(tableName);
      if (state === undefined) {
        throw new ReplicaInconsistencyError(
          'unknown-table',
          `update for table ${JSON.stringify(tableName)}, which is not replicated`,
          {
            table: tableName,
          },
        );
      }
      if (!isPlainObject(rowUpdates)) {
        throw new ReplicaInconsistencyError(
          'malformed',
          `${tableName}: table-update must be an object, got ${brief(rowUpdates)}`,
          {
            table: tableName,
          },
        );
      }
      tables.push({ state, rowUpdates });
    }
    // Referenced tables first, so that references to rows inserted by the same message are
    // interned too; the batch lists the tables in message order.
    const order = tables.length < 2 ? tables : [...tables].sort((a, b) => a.state.rank - b.state.rank);
    const staged = new Map<TableState, StagedOp[]>();
    try {
      for (const { state, rowUpdates } of order) {
        if (state.referenced) state.staging = new Map();
        const ops: StagedOp[] = [];
        for (const uuid in rowUpdates) {
          ops.push(this.#stage(format, state, uuid, rowUpdates[uuid], clear));
        }
        staged.set(state, ops);
      }
    } finally {
      for (const { state } of tables) state.staging = undefined;
    }
    return this.#commit(
      tables.map(({ state }) => ({ state, ops: staged.get(state) as StagedOp[] })),
      clear,
    );
  }

  #stage(
    format: UpdateFormat,
    state: TableState,
    uuidKey: string,
    update: unknown,
    clear: boolean,
  ): StagedOp {
    const table = state.schema.name;
    if (!isUuid(uuidKey)) {
      throw new ReplicaInconsistencyError(
        'malformed',
        `${table}: row key ${JSON.stringify(uuidKey)} is not a UUID`,
        { table },
      );
    }
    const uuid = uuidKey.toLowerCase();
    if (!isPlainObject(update)) {
      throw new ReplicaInconsistencyError(
        'malformed',
        `${table} row ${uuid}: row-update must be an object, got ${brief(update)}`,
        {
          table,
          uuid,
        },
      );
    }
    const current = clear ? undefined : state.rows.get(uuid);

    let kind: 'insert' | 'modify' | 'delete';
    let row: Row | undefined;
    let columns: readonly string[] = [];
    if (format === 'update') {
      const next = update['new'];
      const prev = update['old'];
      if (next !== undefined && next !== null) {
        row = this.#decodeRow(state, uuid, next);
        if (prev === undefined || prev === null) kind = 'insert';
        else {
          kind = 'modify';
          if (!isPlainObject(prev))
            inconsistent(table, uuid, 'malformed', `"old" must be an object, got ${brief(prev)}`);
          columns = Object.keys(prev).filter((c) => state.schema.columns.has(c));
        }
      } else if (prev !== undefined && prev !== null) {
        kind = 'delete';
      } else {
        return inconsistent(table, uuid, 'malformed', 'row-update has neither "old" nor "new"');
      }
    } else {
      let op: string | undefined;
      let members = 0;
      for (const key in update) {
        op = key;
        members++;
      }
      if (members !== 1) {
        return inconsistent(
          table,
          uuid,
          'malformed',
          `row-update2 must have exactly one member, got ${brief(Object.keys(update))}`,
        );
      }
      const body = update[op as string];
      if (op === 'initial' || op === 'insert') {
        kind = 'insert';
        row = this.#decodeRow(state, uuid, body);
      } else if (op === 'modify') {
        kind = 'modify';
        if (current === undefined)
          return inconsistent(table, uuid, 'modify-missing', 'modify of a row the replica does not have');
        if (!isPlainObject(body))
          return inconsistent(table, uuid, 'malformed', `"modify" must be an object, got ${brief(body)}`);
        const result = this.#applyDiff(state, current, body);
        row = result.row;
        columns = result.columns;
      } else if (op === 'delete') {
        kind = 'delete';
      } else {
        return inconsistent(table, uuid, 'malformed', `unknown row-update2 member ${JSON.stringify(op)}`);
      }
    }

    const indexes = state.indexes;
    if (kind === 'insert') {
      if (current !== undefined)
        return inconsistent(table, uuid, 'insert-existing', 'insert of a row the replica already has');
      const inserted = row as Row;
      state.staging?.set(uuid, inserted);
      return {
        kind,
        uuid,
        row: inserted,
        newKeys: indexes.length === 0 ? NO_INDEX_KEYS : indexes.map((i) => keysOf(i.spec, inserted)),
      };
    }
    if (current === undefined) {
      return inconsistent(
        table,
        uuid,
        kind === 'modify' ? 'modify-missing' : 'delete-missing',
        `${kind} of a row the replica does not have`,
      );
    }
    const oldKeys = indexes.length === 0 ? NO_INDEX_KEYS : indexes.map((i) => keysOf(i.spec, current));
    if (kind === 'delete') return { kind, uuid, old: current, oldKeys };
    const modified = row as Row;
    return {
      kind,
      uuid,
      row: modified,
      old: current,
      columns,
      oldKeys,
      newKeys: indexes.length === 0 ? NO_INDEX_KEYS : indexes.map((i) => keysOf(i.spec, modified)),
    };
  }

  #decodeRow(state: TableState, uuid: Uuid, wire: unknown): Row {
    if (!isPlainObject(wire)) {
      throw new ReplicaInconsistencyError(
        'malformed',
        `${state.schema.name} row ${uuid}: row must be an object, got ${brief(wire)}`,
        {
          table: state.schema.name,
          uuid,
        },
      );
    }
    const row = state.rowFactory.create(uuid);
    for (const name in wire) {
      const entry = state.columnsByName.get(name);
      if (entry === undefined) continue; // a column the replica does not keep (checklist C6)
      const datum = wire[name];
      const share = entry.map && sharing(entry);
      if (share && entry.plainMap) {
        const shared = sharedByWire(entry, datum);
        if (shared !== undefined) {
          row[name] = shared;
          continue;
        }
      }
      let value: Datum;
      try {
        value = decodeDatum(
          entry.column.type,
          datum,
          entry.where,
          entry.references ? this.#intern : undefined,
        );
      } catch (error) {
        throw this.#invalid(state, uuid, error);
      }
      row[name] = share ? shareMap(entry, value as ReadonlyMap<Atom, Atom>, datum) : value;
    }
    return Object.freeze(row) as Row;
  }

  #invalid(state: TableState, uuid: Uuid, error: unknown): Error {
    if (!(error instanceof DatumError)) return error instanceof Error ? error : new Error(String(error));
    return new ReplicaInconsistencyError('invalid-value', `row ${uuid}: ${error.message}`, {
      table: state.schema.name,
      uuid,
      cause: error,
    });
  }

  #applyDiff(
    state: TableState,
    current: Row,
    diff: Record<string, unknown>,
  ): { row: Row; columns: string[] } {
    const next = state.rowFactory.copy(current);
    const columns: string[] = [];
    for (const name in diff) {
      const entry = state.columnsByName.get(name);
      if (entry === undefined) continue; // a column the replica does not keep (checklist C6)
      let value: Datum;
      try {
        value = applyDatumDiff(
          entry.column.type,
          current[name],
          diff[name],
          entry.where,
          entry.references ? this.#intern : undefined,
        );
      } catch (error) {
        throw this.#invalid(state, current._uuid, error);
      }
      next[name] =
        entry.map && sharing(entry) ? shareMap(entry, value as ReadonlyMap<Atom, Atom>, undefined) : value;
      columns.push(name);
    }
    return { row: Object.freeze(next) as Row, columns };
  }

  #commit(staged: readonly { state: TableState; ops: StagedOp[] }[], clear: boolean): ChangeBatch<S> {
    if (clear) {
      for (const table of this.#tables.values()) {
        table.rows = new Map();
        for (const index of table.indexes) index.entries.clear();
      }
    }
    const tables: Record<string, TableChanges> = {};
    for (const { state, ops } of staged) {
      if (ops.length === 0) continue;
      const inserted: Row[] = [];
      const modified: RowChange[] = [];
      const deleted: Row[] = [];
      const rows = state.rows;
      const indexes = state.indexes;
      for (const op of ops) {
        switch (op.kind) {
          case 'insert':
            rows.set(op.uuid, op.row);
            for (let i = 0; i < indexes.length; i++)
              (indexes[i] as IndexState).add(op.uuid, op.newKeys[i] as readonly IndexKey[]);
            inserted.push(op.row);
            break;
          case 'modify':
            rows.set(op.uuid, op.row);
            for (let i = 0; i < indexes.length; i++) {
              const before = op.oldKeys[i] as readonly IndexKey[];
              const after = op.newKeys[i] as readonly IndexKey[];
              if (sameKeys(before, after)) continue;
              const index = indexes[i] as IndexState;
              index.remove(op.uuid, before);
              index.add(op.uuid, after);
            }
            modified.push({ row: op.row, old: op.old, columns: op.columns });
            break;
          case 'delete':
            rows.delete(op.uuid);
            for (let i = 0; i < indexes.length; i++)
              (indexes[i] as IndexState).remove(op.uuid, op.oldKeys[i] as readonly IndexKey[]);
            deleted.push(op.old);
            break;
        }
      }
      tables[state.schema.name] = { inserted, modified, deleted };
    }
    this.#seqno++;
    return { seqno: this.#seqno, cleared: clear, tables: tables as ChangeBatch<S>['tables'] };
  }
}
