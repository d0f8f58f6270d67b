/**
 * Bridge between the client and the transaction builder.
 * TEMPORARY: a minimal builder and result classification until transaction.ts (engineer B) lands;
 * then this file only adapts B's API to the client.
 */
import type { Replica, Row } from './cache.js';
import { encodeDatum, NamedUuid } from './datum.js';
import type { DatumInput, Uuid } from './datum.js';
import type { OvsdbRpcError } from './errors.js';
import type { DatabaseSchema, TableSchema } from './schema.js';

export type TxnClause = readonly [column: string, fn: '==' | '!=' | '<' | '<=' | '>' | '>=' | 'includes' | 'excludes', value: unknown];
export type TxnMutation = readonly [column: string, mutator: '+=' | '-=' | '*=' | '/=' | '%=' | 'insert' | 'delete', value: unknown];

/** Handle of a row inserted in the transaction being built (named-uuid `row_<n>`). */
export type RowRef = NamedUuid;

/** Transaction builder handed to `transact`; where-clauses are ANDed (transact semantics). */
export interface TxnBuilder {
  insert(table: string, row: Readonly<Record<string, unknown>>, options?: { uuid?: Uuid }): RowRef;
  update(table: string, where: readonly TxnClause[] | Uuid, row: Readonly<Record<string, unknown>>): void;
  mutate(table: string, where: readonly TxnClause[] | Uuid, mutations: readonly TxnMutation[]): void;
  delete(table: string, where: readonly TxnClause[] | Uuid): void;
  wait(
    table: string,
    where: readonly TxnClause[] | Uuid,
    spec: { columns: readonly string[]; until: '==' | '!='; rows: readonly Readonly<Record<string, unknown>>[]; timeoutMs?: number },
  ): void;
  /** `wait timeout:0 until == [current replica values]`: the commit fails (tryAgain) if they changed. */
  verify(table: string, row: Row, columns: readonly string[]): void;
  comment(text: string): void;
  raw(op: Readonly<Record<string, unknown>>): void;
}

export type TxnOutcome =
  | { readonly status: 'success'; readonly results: readonly unknown[]; readonly uuids: ReadonlyMap<string, Uuid>; readonly seqno: number }
  | { readonly status: 'unchanged' }
  | { readonly status: 'tryAgain'; readonly reason: 'verify-failed' | 'canceled' | 'not-monitoring' | 'unknown-database' }
  | { readonly status: 'notLocked' }
  | { readonly status: 'error'; readonly opIndex: number; readonly error: string; readonly details?: string }
  | { readonly status: 'unknown'; readonly reason: 'disconnected' | 'timeout' };

export interface BuiltTransaction {
  readonly ops: readonly unknown[];
  /** Named uuids of inserts, by op index. */
  readonly inserts: ReadonlyMap<number, string>;
  /** Op indexes of verify waits (timed out there = tryAgain). */
  readonly verifyOps: ReadonlySet<number>;
}

export function buildTransaction(schema: DatabaseSchema, _replica: Replica, build: (tx: TxnBuilder) => void, comment?: string): BuiltTransaction {
  const ops: unknown[] = [];
  const inserts = new Map<number, string>();
  const verifyOps = new Set<number>();
  let counter = 0;
  const tableOf = (name: string): TableSchema => {
    const t = schema.tables.get(name);
    if (t === undefined) throw new Error(`transaction: table ${JSON.stringify(name)} is not in the replicated schema`);
    return t;
  };
  const encodeRow = (t: TableSchema, row: Readonly<Record<string, unknown>>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      const c = t.columns.get(k);
      if (c === undefined) throw new Error(`transaction: table ${t.name} has no replicated column ${JSON.stringify(k)}`);
      out[k] = encodeDatum(c.type, v as DatumInput, `${t.name}.${k}`);
    }
    return out;
  };
  const encodeValue = (t: TableSchema, column: string, value: unknown, asAtomSet: boolean): unknown => {
    if (column === '_uuid') return ['uuid', value];
    const c = t.columns.get(column);
    if (c === undefined) throw new Error(`transaction: table ${t.name} has no replicated column ${JSON.stringify(column)}`);
    if (asAtomSet && !Array.isArray(value) && !(value instanceof Map)) {
      return encodeDatum({ key: c.type.key, min: 0, max: Infinity }, [value] as DatumInput, `${t.name}.${column}`);
    }
    return encodeDatum(c.type, value as DatumInput, `${t.name}.${column}`);
  };
  const where = (t: TableSchema, w: readonly TxnClause[] | Uuid): unknown[] =>
    typeof w === 'string' ? [['_uuid', '==', ['uuid', w]]] : w.map(([col, fn, v]) => [col, fn, encodeValue(t, col, v, false)]);
  const builder: TxnBuilder = {
    insert(table, row, options) {
      const t = tableOf(table);
      const name = `row_${(++counter).toString(16)}`;
      const op: Record<string, unknown> = { op: 'insert', table, row: encodeRow(t, row), 'uuid-name': name };
      if (options?.uuid !== undefined) op['uuid'] = options.uuid;
      inserts.set(ops.length, name);
      ops.push(op);
      return new NamedUuid(name, table, options?.uuid);
    },
    update(table, w, row) {
      const t = tableOf(table);
      ops.push({ op: 'update', table, where: where(t, w), row: encodeRow(t, row) });
    },
    mutate(table, w, mutations) {
      const t = tableOf(table);
      ops.push({
        op: 'mutate',
        table,
        where: where(t, w),
        mutations: mutations.map(([col, mut, v]) => {
          const c = t.columns.get(col);
          const isCollection = c !== undefined && (c.kind === 'set' || c.kind === 'map');
          let wire: unknown;
          if (!isCollection) wire = v;
          else if (mut === 'delete' && c.kind === 'map' && Array.isArray(v)) wire = encodeDatum({ key: c.type.key, min: 0, max: Infinity }, v as DatumInput);
          else wire = encodeValue(t, col, v, true);
          return [col, mut, wire];
        }),
      });
    },
    delete(table, w) {
      const t = tableOf(table);
      ops.push({ op: 'delete', table, where: where(t, w) });
    },
    wait(table, w, spec) {
      const t = tableOf(table);
      ops.push({
        op: 'wait',
        table,
        where: where(t, w),
        columns: spec.columns,
        until: spec.until,
        rows: spec.rows.map((r) => encodeRow(t, r)),
        ...(spec.timeoutMs === undefined ? {} : { timeout: spec.timeoutMs }),
      });
    },
    verify(table, row, columns) {
      const t = tableOf(table);
      const current: Record<string, unknown> = {};
      for (const c of columns) current[c] = row[c];
      verifyOps.add(ops.length);
      ops.push({ op: 'wait', table, where: [['_uuid', '==', ['uuid', row._uuid]]], columns, until: '==', rows: [encodeRow(t, current)], timeout: 0 });
    },
    comment(text) {
      ops.push({ op: 'comment', comment: text });
    },
    raw(op) {
      ops.push(op);
    },
  };
  build(builder);
  if (comment !== undefined && ops.length > 0) ops.push({ op: 'comment', comment });
  return { ops, inserts, verifyOps };
}

export function classifyTransactResult(txn: BuiltTransaction, result: unknown, rpcError: OvsdbRpcError | undefined, seqno: number): TxnOutcome {
  if (rpcError !== undefined) {
    if (rpcError.error === 'canceled') return { status: 'tryAgain', reason: 'canceled' };
    if (rpcError.error === 'unknown database') return { status: 'tryAgain', reason: 'unknown-database' };
    return { status: 'error', opIndex: -1, error: rpcError.error, ...(rpcError.details === undefined ? {} : { details: rpcError.details }) };
  }
  const n = txn.ops.length;
  if (!Array.isArray(result) || (result.length !== n && result.length !== n + 1)) {
    return { status: 'error', opIndex: -1, error: 'malformed reply', details: `expected ${n} or ${n + 1} results` };
  }
  for (let i = 0; i < result.length; i++) {
    const r: unknown = result[i];
    if (r !== null && typeof r === 'object' && 'error' in r) {
      const e = r as { error: unknown; details?: unknown };
      const error = String(e.error);
      if (error === 'timed out' && txn.verifyOps.has(i)) return { status: 'tryAgain', reason: 'verify-failed' };
      if (error === 'not owner') return { status: 'notLocked' };
      return { status: 'error', opIndex: i, error, ...(typeof e.details === 'string' ? { details: e.details } : {}) };
    }
  }
  const uuids = new Map<string, Uuid>();
  for (const [i, name] of txn.inserts) {
    const r: unknown = result[i];
    if (r !== null && typeof r === 'object' && 'uuid' in r) {
      const u = r.uuid;
      if (Array.isArray(u) && typeof u[1] === 'string') uuids.set(name, u[1]);
    }
  }
  return { status: 'success', results: result as unknown[], uuids, seqno };
}
