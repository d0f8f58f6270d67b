/**
 * Typed where-clauses (RFC 7047 §5.1 `<condition>`), encoded by the column types of the schema.
 *
 * Public API (stable):
 * - `where(column, fn, value)` → {@link Clause}; `whereUuid(uuidOrRef)` for `_uuid == …`.
 * - `encodeTransactWhere(table, clauses)` for `select`/`update`/`mutate`/`delete`/`wait`.
 * - `encodeMonitorWhere(table, condition)` for `monitor_cond` / `monitor_cond_since` /
 *   `monitor_cond_change`.
 * - `dropClausesOnMissingColumns(table, clauses, serverHasColumn)` (checklist E6).
 *
 * Semantics — the two uses differ, and both follow plain logic here:
 * - In `transact`, the clauses are ANDed: a row matches when every clause holds; `[]` (an empty
 *   conjunction) matches every row.
 * - In `monitor_cond*`, the clauses are ORed (ovsdb/condition.c matches *any* clause): a row is
 *   replicated when at least one clause holds. `true` replicates everything, `false` nothing. An
 *   empty list is an empty disjunction and replicates nothing (it is sent as `[false]`, which is
 *   also what the C and Python IDLs do with `[]`; ovsdb-server itself would read `[]` as "all
 *   rows", checklist E2).
 * A literal `true`/`false` clause is accepted in both (ovsdb-server accepts it in both).
 *
 * Value rules (ovsdb/condition.c): `<`, `<=`, `>=`, `>` only on scalar integer or real columns;
 * `==`/`!=` take a full value of the column type; `includes`/`excludes` take a value of the column
 * type with no minimum size (a subset). Values may contain {@link NamedUuid} row references.
 */

import { encodeDatum, type DatumInput, type NamedUuid, type Uuid } from './datum.js';
import { findColumn, SchemaError, type ColumnType, type TableSchema } from './schema.js';

export type ConditionFunction = '<' | '<=' | '==' | '!=' | '>=' | '>' | 'includes' | 'excludes';

const FUNCTIONS: ReadonlySet<string> = new Set(['<', '<=', '==', '!=', '>=', '>', 'includes', 'excludes']);

/** One `[column, function, value]` clause. */
export interface Clause {
  readonly column: string;
  readonly fn: ConditionFunction;
  readonly value: DatumInput;
}

/** A clause or a literal `true`/`false`. */
export type ConditionClause = Clause | boolean;

/** Builds a clause; checked against the schema when encoded. */
export function where(column: string, fn: ConditionFunction, value: DatumInput): Clause {
  if (!FUNCTIONS.has(fn)) throw new SchemaError(`unknown condition function ${JSON.stringify(fn)}`, column);
  return Object.freeze({ column, fn, value });
}

/** `_uuid == uuid` (for a row of the replica, or a row inserted by the same transaction). */
export function whereUuid(row: Uuid | NamedUuid): Clause {
  return where('_uuid', '==', row);
}

function encodeClause(table: TableSchema, clause: ConditionClause): unknown {
  if (typeof clause === 'boolean') return clause;
  const place = `${table.name}.${clause.column}`;
  const column = findColumn(table, clause.column);
  if (column === undefined)
    throw new SchemaError(
      `${place}: table ${table.name} has no column ${JSON.stringify(clause.column)}`,
      place,
    );
  if (!FUNCTIONS.has(clause.fn))
    throw new SchemaError(`${place}: unknown condition function ${JSON.stringify(clause.fn)}`, place);
  const type = column.type;
  let valueType: ColumnType = type;
  switch (clause.fn) {
    case '<':
    case '<=':
    case '>=':
    case '>':
      if (column.kind !== 'scalar' || (type.key.type !== 'integer' && type.key.type !== 'real')) {
        throw new SchemaError(
          `${place}: "${clause.fn}" needs a scalar integer or real column, but ${clause.column} is a ${column.kind} of ${type.key.type}`,
          place,
        );
      }
      break;
    case 'includes':
    case 'excludes':
      valueType = { ...type, min: 0 };
      break;
    default:
      break;
  }
  return [clause.column, clause.fn, encodeDatum(valueType, clause.value, place)];
}

/** Encodes a `transact` where-clause list (clauses ANDed; `[]` = all rows). */
export function encodeTransactWhere(table: TableSchema, clauses: readonly ConditionClause[]): unknown[] {
  return clauses.map((c) => encodeClause(table, c));
}

/**
 * Encodes a monitor condition (clauses ORed): `true` = all rows (`[true]`), `false` or `[]` = no
 * rows (`[false]`).
 */
export function encodeMonitorWhere(
  table: TableSchema,
  condition: readonly ConditionClause[] | boolean,
): unknown[] {
  if (condition === true) return [true];
  if (condition === false || condition.length === 0) return [false];
  return condition.map((c) => encodeClause(table, c));
}

/**
 * Removes clauses on columns the server does not have (the C IDL's behaviour, checklist E6), so
 * a condition written for a newer schema still works against an older server. Literal clauses
 * are kept.
 */
export function dropClausesOnMissingColumns(
  table: string,
  clauses: readonly ConditionClause[],
  serverHasColumn: (table: string, column: string) => boolean,
): ConditionClause[] {
  return clauses.filter((c) => typeof c === 'boolean' || serverHasColumn(table, c.column));
}
