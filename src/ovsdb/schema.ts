/**
 * OVSDB database schemas (RFC 7047 §3.2) as immutable, validated TypeScript objects.
 *
 * Public API (stable; the client, the replica, conditions and transactions build on it):
 * - `parseSchema(json)` → {@link DatabaseSchema}; throws {@link SchemaError} naming the table,
 *   column and bad value.
 * - {@link ColumnKind} / `columnKind(type)`: `scalar` (min 1, max 1), `optional` (min 0, max 1),
 *   `set` (max > 1, no value), `map` (has a value type).
 * - `columnDefault(column)`: the RFC default of a column in the datum representation of
 *   `datum.ts` (0, 0.0, false, "", the all-zero UUID for scalars; empty for the other kinds).
 * - `intersectSchemas(client, server)` → {@link SchemaIntersection}: what the C IDL monitors when
 *   the server schema is older or newer than the client's (checklist C6): tables and columns the
 *   server lacks are dropped with a warning, columns the server has in addition are ignored.
 * - `restrictSchema(schema, columnsByTable)`: the schema of a monitor that replicates only some
 *   tables/columns (what a `Replica` is built from).
 *
 * Contracts: every object returned here is frozen. Column maps keep the schema file's order.
 * The implicit columns `_uuid` and `_version` are not listed in `TableSchema.columns`; they are
 * available through `implicitColumn()` (conditions and `select` use them).
 */

export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

/** A decoded atom: integers are `number` when safe (|n| ≤ 2^53-1), `bigint` otherwise; UUIDs are strings. */
export type Atom = string | number | bigint | boolean;

export interface BaseType {
  readonly type: AtomicType;
  /** Allowed values (decoded atoms, sorted as OVSDB sorts them), when the base type is an enum. */
  readonly enum?: readonly Atom[];
  readonly minInteger?: number | bigint;
  readonly maxInteger?: number | bigint;
  readonly minReal?: number;
  readonly maxReal?: number;
  /** In Unicode code points, as ovsdb-server counts them. */
  readonly minLength?: number;
  readonly maxLength?: number;
  /** Only for `uuid`: the table referenced. */
  readonly refTable?: string;
  /** Only for `uuid` with `refTable`; defaults to `strong`. */
  readonly refType?: 'strong' | 'weak';
}

export interface ColumnType {
  readonly key: BaseType;
  readonly value?: BaseType;
  readonly min: 0 | 1;
  /** `Infinity` stands for "unlimited". */
  readonly max: number;
}

export type ColumnKind = 'scalar' | 'optional' | 'set' | 'map';

export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
  readonly kind: ColumnKind;
  readonly ephemeral: boolean;
  readonly mutable: boolean;
}

export interface TableSchema {
  readonly name: string;
  readonly columns: ReadonlyMap<string, ColumnSchema>;
  /** The same columns as an array, for hot loops. */
  readonly columnList: readonly ColumnSchema[];
  readonly maxRows?: number;
  readonly isRoot: boolean;
  readonly indexes: readonly (readonly string[])[];
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version?: string;
  readonly cksum?: string;
  readonly tables: ReadonlyMap<string, TableSchema>;
}

/**
 * A schema document is invalid, or a request (condition, transaction op) does not fit the schema.
 * The message names the place (`Table.column`) and the bad value.
 */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
  constructor(
    message: string,
    /** `table`, `table.column`, or "" for the database level. */
    readonly where: string,
  ) {
    super(message);
  }
}

const ATOMIC_TYPES: ReadonlySet<string> = new Set(['integer', 'real', 'boolean', 'string', 'uuid']);
const ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VERSION_PATTERN = /^[0-9]+\.[0-9]+\.[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

function show(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  try {
    return (
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)
    );
  } catch {
    return String(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(where: string, message: string): never {
  throw new SchemaError(where === '' ? message : `${where}: ${message}`, where);
}

function checkMembers(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  where: string,
  what: string,
): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(where, `unknown member ${show(key)} in ${what}`);
  }
}

/** Canonical integer atom: `number` when it is a safe integer, `bigint` otherwise. */
export function canonicalInteger(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

function parseIntegerBound(value: unknown, where: string, member: string): number | bigint {
  let big: bigint;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
  else return fail(where, `${member} must be an integer, got ${show(value)}`);
  if (big < INT64_MIN || big > INT64_MAX) fail(where, `${member} ${show(value)} is outside the 64-bit range`);
  return canonicalInteger(big);
}

function parseRealBound(value: unknown, where: string, member: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  return fail(where, `${member} must be a number, got ${show(value)}`);
}

function parseLengthBound(value: unknown, where: string, member: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(value);
  return fail(where, `${member} must be a non-negative integer, got ${show(value)}`);
}

/**
 * Decodes one enum atom. Kept here (not in datum.ts) so that schema parsing has no cycle; the rules
 * are those of datum.ts `decodeAtom` without constraints.
 */
function parseEnumAtom(type: AtomicType, wire: unknown, where: string): Atom {
  switch (type) {
    case 'integer':
      return parseIntegerBound(wire, where, 'enum value');
    case 'real':
      return parseRealBound(wire, where, 'enum value');
    case 'boolean':
      if (typeof wire === 'boolean') return wire;
      break;
    case 'string':
      if (typeof wire === 'string') return wire;
      break;
    case 'uuid':
      if (Array.isArray(wire) && wire.length === 2 && wire[0] === 'uuid' && typeof wire[1] === 'string') {
        return wire[1].toLowerCase();
      }
      break;
  }
  return fail(where, `enum value ${show(wire)} is not a ${type}`);
}

function parseBaseType(json: unknown, where: string): BaseType {
  if (typeof json === 'string') {
    if (!ATOMIC_TYPES.has(json)) fail(where, `unknown atomic type ${show(json)}`);
    return Object.freeze({ type: json as AtomicType });
  }
  if (!isPlainObject(json)) return fail(where, `base type must be a string or an object, got ${show(json)}`);
  checkMembers(
    json,
    [
      'type',
      'enum',
      'minInteger',
      'maxInteger',
      'minReal',
      'maxReal',
      'minLength',
      'maxLength',
      'refTable',
      'refType',
    ],
    where,
    'base type',
  );
  const typeName = json['type'];
  if (typeof typeName !== 'string' || !ATOMIC_TYPES.has(typeName)) {
    fail(where, `unknown atomic type ${show(typeName)}`);
  }
  const type = typeName as AtomicType;
  const onlyFor = (member: string, allowed: AtomicType): void => {
    if (json[member] !== undefined && type !== allowed)
      fail(where, `${member} is only valid for ${allowed}, not ${type}`);
  };
  onlyFor('minInteger', 'integer');
  onlyFor('maxInteger', 'integer');
  onlyFor('minReal', 'real');
  onlyFor('maxReal', 'real');
  onlyFor('minLength', 'string');
  onlyFor('maxLength', 'string');
  onlyFor('refTable', 'uuid');
  onlyFor('refType', 'uuid');

  const base: {
    type: AtomicType;
    enum?: readonly Atom[];
    minInteger?: number | bigint;
    maxInteger?: number | bigint;
    minReal?: number;
    maxReal?: number;
    minLength?: number;
    maxLength?: number;
    refTable?: string;
    refType?: 'strong' | 'weak';
  } = { type };

  if (json['enum'] !== undefined) {
    const raw = json['enum'];
    let elements: readonly unknown[];
    if (Array.isArray(raw) && raw[0] === 'set') {
      if (raw.length !== 2 || !Array.isArray(raw[1]))
        fail(where, `enum must be ["set", [...]], got ${show(raw)}`);
      elements = raw[1] as unknown[];
    } else {
      elements = [raw];
    }
    const atoms = elements.map((e) => parseEnumAtom(type, e, where));
    if (atoms.length === 0) fail(where, 'enum must not be empty');
    base.enum = Object.freeze([...new Set(atoms)].sort(compareAtoms));
  }
  if (json['minInteger'] !== undefined)
    base.minInteger = parseIntegerBound(json['minInteger'], where, 'minInteger');
  if (json['maxInteger'] !== undefined)
    base.maxInteger = parseIntegerBound(json['maxInteger'], where, 'maxInteger');
  if (base.minInteger !== undefined && base.maxInteger !== undefined && base.minInteger > base.maxInteger) {
    fail(where, `minInteger ${show(base.minInteger)} is greater than maxInteger ${show(base.maxInteger)}`);
  }
  if (json['minReal'] !== undefined) base.minReal = parseRealBound(json['minReal'], where, 'minReal');
  if (json['maxReal'] !== undefined) base.maxReal = parseRealBound(json['maxReal'], where, 'maxReal');
  if (base.minReal !== undefined && base.maxReal !== undefined && base.minReal > base.maxReal) {
    fail(where, `minReal ${base.minReal} is greater than maxReal ${base.maxReal}`);
  }
  if (json['minLength'] !== undefined)
    base.minLength = parseLengthBound(json['minLength'], where, 'minLength');
  if (json['maxLength'] !== undefined)
    base.maxLength = parseLengthBound(json['maxLength'], where, 'maxLength');
  if (base.minLength !== undefined && base.maxLength !== undefined && base.minLength > base.maxLength) {
    fail(where, `minLength ${base.minLength} is greater than maxLength ${base.maxLength}`);
  }
  if (json['refTable'] !== undefined) {
    const refTable = json['refTable'];
    if (typeof refTable !== 'string' || !ID_PATTERN.test(refTable))
      fail(where, `invalid refTable ${show(refTable)}`);
    base.refTable = refTable;
    base.refType = 'strong';
  }
  if (json['refType'] !== undefined) {
    const refType = json['refType'];
    if (refType !== 'strong' && refType !== 'weak')
      fail(where, `refType must be "strong" or "weak", got ${show(refType)}`);
    if (base.refTable === undefined) fail(where, 'refType given without refTable');
    base.refType = refType;
  }
  return Object.freeze(base);
}

function parseColumnType(json: unknown, where: string): ColumnType {
  if (typeof json === 'string') {
    return Object.freeze({ key: parseBaseType(json, where), min: 1, max: 1 });
  }
  if (!isPlainObject(json))
    return fail(where, `column type must be a string or an object, got ${show(json)}`);
  if (json['key'] === undefined) {
    // A bare base-type object is also a valid <type> (RFC 7047 §3.2: <atomic-type> | <base-type> | object).
    if (json['type'] !== undefined) return Object.freeze({ key: parseBaseType(json, where), min: 1, max: 1 });
    fail(where, `column type ${show(json)} has no "key"`);
  }
  checkMembers(json, ['key', 'value', 'min', 'max'], where, 'column type');
  const key = parseBaseType(json['key'], where);
  const value = json['value'] === undefined ? undefined : parseBaseType(json['value'], where);
  const rawMin = json['min'] ?? 1;
  const rawMax = json['max'] ?? 1;
  const min = typeof rawMin === 'bigint' ? Number(rawMin) : rawMin;
  if (min !== 0 && min !== 1) fail(where, `min must be 0 or 1, got ${show(rawMin)}`);
  let max: number;
  if (rawMax === 'unlimited') max = Infinity;
  else if (typeof rawMax === 'number' && Number.isInteger(rawMax) && rawMax >= 1) max = rawMax;
  else if (typeof rawMax === 'bigint' && rawMax >= 1n) max = Number(rawMax);
  else return fail(where, `max must be a positive integer or "unlimited", got ${show(rawMax)}`);
  if (min > max) fail(where, `min ${min} is greater than max ${max}`);
  return Object.freeze(value === undefined ? { key, min, max } : { key, value, min, max });
}

/** The kind of a column type, which decides its TypeScript representation and its diff rule. */
export function columnKind(type: ColumnType): ColumnKind {
  if (type.value !== undefined) return 'map';
  if (type.max > 1) return 'set';
  return type.min === 1 ? 'scalar' : 'optional';
}

function parseColumn(name: string, json: unknown, where: string): ColumnSchema {
  if (!ID_PATTERN.test(name) || name.startsWith('_')) fail(where, `invalid column name ${show(name)}`);
  if (!isPlainObject(json)) return fail(where, `column must be an object, got ${show(json)}`);
  checkMembers(json, ['type', 'ephemeral', 'mutable'], where, 'column');
  const type = parseColumnType(json['type'], where);
  const ephemeral = json['ephemeral'] ?? false;
  if (typeof ephemeral !== 'boolean') fail(where, `ephemeral must be a boolean, got ${show(ephemeral)}`);
  const mutable = json['mutable'] ?? true;
  if (typeof mutable !== 'boolean') fail(where, `mutable must be a boolean, got ${show(mutable)}`);
  return Object.freeze({ name, type, kind: columnKind(type), ephemeral, mutable });
}

function makeTable(
  name: string,
  columns: readonly ColumnSchema[],
  rest: { maxRows?: number; isRoot: boolean; indexes: readonly (readonly string[])[] },
): TableSchema {
  const table: {
    name: string;
    columns: ReadonlyMap<string, ColumnSchema>;
    columnList: readonly ColumnSchema[];
    maxRows?: number;
    isRoot: boolean;
    indexes: readonly (readonly string[])[];
  } = {
    name,
    columns: new Map(columns.map((c) => [c.name, c])),
    columnList: Object.freeze([...columns]),
    isRoot: rest.isRoot,
    indexes: Object.freeze(rest.indexes.map((i) => Object.freeze([...i]))),
  };
  if (rest.maxRows !== undefined) table.maxRows = rest.maxRows;
  return Object.freeze(table);
}

function parseTable(
  name: string,
  json: unknown,
): { table: Omit<TableSchema, 'isRoot'>; isRoot: boolean | undefined } {
  const where = name;
  // A leading underscore is allowed here: the server's own database has a table "_Server".
  if (!ID_PATTERN.test(name)) fail(where, `invalid table name ${show(name)}`);
  if (!isPlainObject(json)) return fail(where, `table must be an object, got ${show(json)}`);
  checkMembers(json, ['columns', 'maxRows', 'isRoot', 'indexes'], where, 'table');
  const rawColumns = json['columns'];
  if (!isPlainObject(rawColumns)) return fail(where, `"columns" must be an object, got ${show(rawColumns)}`);
  const columns = Object.entries(rawColumns).map(([c, cj]) => parseColumn(c, cj, `${name}.${c}`));
  if (columns.length === 0) fail(where, 'a table needs at least one column');
  let maxRows: number | undefined;
  if (json['maxRows'] !== undefined) {
    const m = json['maxRows'];
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 1)
      fail(where, `maxRows must be a positive integer, got ${show(m)}`);
    maxRows = m;
  }
  const isRoot = json['isRoot'];
  if (isRoot !== undefined && typeof isRoot !== 'boolean')
    fail(where, `isRoot must be a boolean, got ${show(isRoot)}`);
  const byName = new Map(columns.map((c) => [c.name, c]));
  const indexes: string[][] = [];
  if (json['indexes'] !== undefined) {
    const raw = json['indexes'];
    if (!Array.isArray(raw)) return fail(where, `indexes must be an array, got ${show(raw)}`);
    for (const index of raw) {
      if (!Array.isArray(index) || index.length === 0)
        fail(where, `index must be a non-empty array of column names, got ${show(index)}`);
      for (const c of index) {
        const column = typeof c === 'string' ? byName.get(c) : undefined;
        if (column === undefined && c !== '_uuid' && c !== '_version')
          fail(where, `index names unknown column ${show(c)}`);
        if (column?.ephemeral === true) fail(where, `index column ${show(c)} is ephemeral`);
      }
      indexes.push(index as string[]);
    }
  }
  const table = makeTable(name, columns, {
    isRoot: false,
    indexes,
    ...(maxRows === undefined ? {} : { maxRows }),
  });
  return { table, isRoot: isRoot };
}

/**
 * Parses and validates a schema document (the JSON of a `.ovsschema` file or a `get_schema`
 * reply). Checks everything RFC 7047 §3.2 requires, and that every `refTable` names a table.
 * As ovsdb-server does, a schema in which no table says `isRoot` treats every table as root.
 */
export function parseSchema(json: unknown): DatabaseSchema {
  if (!isPlainObject(json)) return fail('', `schema must be a JSON object, got ${show(json)}`);
  checkMembers(json, ['name', 'version', 'cksum', 'tables', 'doc'], '', 'database schema');
  const name = json['name'];
  if (typeof name !== 'string' || !ID_PATTERN.test(name)) fail('', `invalid database name ${show(name)}`);
  const version = json['version'];
  if (version !== undefined && (typeof version !== 'string' || !VERSION_PATTERN.test(version))) {
    fail('', `version must look like "x.y.z", got ${show(version)}`);
  }
  const cksum = json['cksum'];
  if (cksum !== undefined && typeof cksum !== 'string')
    fail('', `cksum must be a string, got ${show(cksum)}`);
  const rawTables = json['tables'];
  if (!isPlainObject(rawTables)) return fail('', `"tables" must be an object, got ${show(rawTables)}`);
  const parsed = Object.entries(rawTables).map(([t, tj]) => parseTable(t, tj));
  const anyRoot = parsed.some((p) => p.isRoot === true);
  const tables = new Map<string, TableSchema>();
  for (const p of parsed) {
    const t = p.table;
    const isRoot = anyRoot ? p.isRoot === true : true;
    tables.set(
      t.name,
      makeTable(t.name, t.columnList, {
        isRoot,
        indexes: t.indexes,
        ...(t.maxRows === undefined ? {} : { maxRows: t.maxRows }),
      }),
    );
  }
  for (const table of tables.values()) {
    for (const column of table.columnList) {
      for (const base of [column.type.key, column.type.value]) {
        if (base?.refTable !== undefined && !tables.has(base.refTable)) {
          fail(
            `${table.name}.${column.name}`,
            `refTable ${show(base.refTable)} is not a table of this database`,
          );
        }
      }
    }
  }
  const schema: { name: string; version?: string; cksum?: string; tables: ReadonlyMap<string, TableSchema> } =
    {
      name: name,
      tables,
    };
  if (typeof version === 'string') schema.version = version;
  if (typeof cksum === 'string') schema.cksum = cksum;
  return Object.freeze(schema);
}

const UUID_COLUMN_TYPE: ColumnType = Object.freeze({
  key: Object.freeze({ type: 'uuid' as const }),
  min: 1,
  max: 1,
});

/** The implicit `_uuid` / `_version` columns (both scalar UUIDs, immutable). */
export function implicitColumn(name: '_uuid' | '_version'): ColumnSchema {
  return name === '_uuid' ? UUID_COLUMN : VERSION_COLUMN;
}
const UUID_COLUMN: ColumnSchema = Object.freeze({
  name: '_uuid',
  type: UUID_COLUMN_TYPE,
  kind: 'scalar',
  ephemeral: false,
  mutable: false,
});
const VERSION_COLUMN: ColumnSchema = Object.freeze({
  name: '_version',
  type: UUID_COLUMN_TYPE,
  kind: 'scalar',
  ephemeral: false,
  mutable: false,
});

/** Looks up a column, including the implicit ones; `undefined` when the table has no such column. */
export function findColumn(table: TableSchema, column: string): ColumnSchema | undefined {
  if (column === '_uuid' || column === '_version') return implicitColumn(column);
  return table.columns.get(column);
}

/** Looks up a table or throws a {@link SchemaError} naming it. */
export function requireTable(schema: DatabaseSchema, table: string): TableSchema {
  const t = schema.tables.get(table);
  if (t === undefined) fail(table, `database ${schema.name} has no table ${show(table)}`);
  return t;
}

/** Looks up a column (implicit ones included) or throws a {@link SchemaError} naming it. */
export function requireColumn(table: TableSchema, column: string): ColumnSchema {
  const c = findColumn(table, column);
  if (c === undefined) fail(`${table.name}.${column}`, `table ${table.name} has no column ${show(column)}`);
  return c;
}

/** The shared, frozen empty array: the default value of set columns and every decoded empty set. */
export const EMPTY_SET: readonly never[] = Object.freeze([]);

const refuseMutation = (): never => {
  throw new TypeError('this map is read-only (a value shared by several rows)');
};

/**
 * Makes `map` read-only in place and returns it: a plain Map still (so deep equality with
 * `new Map(...)` holds and `instanceof Map` stays true) whose mutators throw. Used for map values
 * that several rows share (the empty default, and equal maps the replica deduplicates).
 */
export function freezeMap<K, V>(map: Map<K, V> | ReadonlyMap<K, V>): ReadonlyMap<K, V> {
  if (Object.isFrozen(map)) return map;
  for (const method of ['set', 'delete', 'clear']) {
    Object.defineProperty(map, method, { value: refuseMutation, enumerable: false, writable: false });
  }
  return Object.freeze(map);
}

function makeEmptyMap(): ReadonlyMap<never, never> {
  // Shared by every row that has the default value.
  return freezeMap(new Map<never, never>());
}

/** The shared, read-only empty map used as the default value of map columns. */
export const EMPTY_MAP: ReadonlyMap<never, never> = makeEmptyMap();

/** The RFC 7047 default atom of an atomic type. */
export function atomDefault(type: AtomicType): Atom {
  switch (type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
  }
}

/**
 * The default value of a column, in the representation of datum.ts: the atom default for a
 * scalar, `undefined` for an optional, a frozen empty array for a set and {@link EMPTY_MAP} for a
 * map. Rows whose update omits a column get this value (checklist C3).
 */
export function columnDefault(
  column: ColumnSchema,
): Atom | undefined | readonly never[] | ReadonlyMap<never, never> {
  switch (column.kind) {
    case 'scalar':
      return atomDefault(column.type.key.type);
    case 'optional':
      return undefined;
    case 'set':
      return EMPTY_SET;
    case 'map':
      return EMPTY_MAP;
  }
}

/** Result of {@link intersectSchemas}. */
export interface SchemaIntersection {
  /** The client schema minus what the server lacks; what to monitor and to replicate. */
  readonly schema: DatabaseSchema;
  /** One human-readable line per missing table or column, or per incompatible column type. */
  readonly warnings: readonly string[];
  /** Tables of the client schema that the server does not have. */
  readonly missingTables: ReadonlySet<string>;
  /** Per table present on both sides: its client columns that the server lacks (or types differently). */
  readonly missingColumns: ReadonlyMap<string, ReadonlySet<string>>;
  serverHasTable(table: string): boolean;
  serverHasColumn(table: string, column: string): boolean;
}

function sameShape(a: ColumnType, b: ColumnType): boolean {
  return (
    a.key.type === b.key.type &&
    a.value?.type === b.value?.type &&
    columnKind(a) === columnKind(b) &&
    (a.max === 1) === (b.max === 1)
  );
}

/**
 * Intersects the schema the client was written for with the one the server has (checklist C6,
 * the C IDL's `ovsdb_idl_compose_monitor_request` behaviour): tables and columns missing on the
 * server are left out, each with a warning ("database needs upgrade?"); tables and columns only the
 * server has are ignored. For a column on both sides the server's type is used (its constraints,
 * e.g. a newer enum, are what the data obeys) as long as it has the same shape as the client's
 * (same atomic types and kind); a column whose shape differs is treated as missing, with a warning,
 * because the client code could not read it.
 */
export function intersectSchemas(client: DatabaseSchema, server: DatabaseSchema): SchemaIntersection {
  const warnings: string[] = [];
  if (client.name !== server.name) {
    warnings.push(
      `client schema is for database ${show(client.name)} but the server schema is ${show(server.name)}`,
    );
  }
  const missingTables = new Set<string>();
  const missingColumns = new Map<string, Set<string>>();
  const tables = new Map<string, TableSchema>();
  for (const clientTable of client.tables.values()) {
    const serverTable = server.tables.get(clientTable.name);
    if (serverTable === undefined) {
      missingTables.add(clientTable.name);
      warnings.push(
        `table ${clientTable.name} is not in the server's ${server.name} schema (database needs upgrade?)`,
      );
      continue;
    }
    const missing = new Set<string>();
    const columns: ColumnSchema[] = [];
    for (const clientColumn of clientTable.columnList) {
      const serverColumn = serverTable.columns.get(clientColumn.name);
      if (serverColumn === undefined) {
        missing.add(clientColumn.name);
        warnings.push(
          `column ${clientTable.name}.${clientColumn.name} is not in the server's schema (database needs upgrade?)`,
        );
      } else if (!sameShape(clientColumn.type, serverColumn.type)) {
        missing.add(clientColumn.name);
        warnings.push(
          `column ${clientTable.name}.${clientColumn.name} has a different type on the server; not replicated`,
        );
      } else {
        columns.push(serverColumn);
      }
    }
    missingColumns.set(clientTable.name, missing);
    const indexes = serverTable.indexes.filter((i) =>
      i.every((c) => c.startsWith('_') || columns.some((col) => col.name === c)),
    );
    tables.set(
      clientTable.name,
      makeTable(clientTable.name, columns, {
        isRoot: serverTable.isRoot,
        indexes,
        ...(serverTable.maxRows === undefined ? {} : { maxRows: serverTable.maxRows }),
      }),
    );
  }
  const schema: { name: string; version?: string; cksum?: string; tables: ReadonlyMap<string, TableSchema> } =
    {
      name: client.name,
      tables,
    };
  if (server.version !== undefined) schema.version = server.version;
  if (server.cksum !== undefined) schema.cksum = server.cksum;
  const frozenMissingColumns: ReadonlyMap<string, ReadonlySet<string>> = missingColumns;
  return Object.freeze({
    schema: Object.freeze(schema),
    warnings: Object.freeze(warnings),
    missingTables,
    missingColumns: frozenMissingColumns,
    serverHasTable: (table: string): boolean => server.tables.has(table),
    serverHasColumn: (table: string, column: string): boolean => {
      const t = server.tables.get(table);
      if (t === undefined) return false;
      if (column === '_uuid' || column === '_version') return true;
      if (!t.columns.has(column)) return false;
      return !(missingColumns.get(table)?.has(column) ?? false);
    },
  });
}

/**
 * The schema of a monitor that replicates only some tables and columns. `columnsByTable` maps a
 * table name to the columns to keep (`undefined` or omitted list = all columns). Unknown tables or
 * columns throw a {@link SchemaError} naming them.
 */
export function restrictSchema(
  schema: DatabaseSchema,
  columnsByTable: Readonly<Record<string, readonly string[] | undefined>>,
): DatabaseSchema {
  const tables = new Map<string, TableSchema>();
  for (const [tableName, columnNames] of Object.entries(columnsByTable)) {
    const table = requireTable(schema, tableName);
    if (columnNames === undefined) {
      tables.set(tableName, table);
      continue;
    }
    const columns = columnNames.map((c) => {
      const column = table.columns.get(c);
      if (column === undefined) fail(`${tableName}.${c}`, `table ${tableName} has no column ${show(c)}`);
      return column;
    });
    const kept = new Set(columnNames);
    tables.set(
      tableName,
      makeTable(tableName, columns, {
        isRoot: table.isRoot,
        indexes: table.indexes.filter((i) => i.every((c) => c.startsWith('_') || kept.has(c))),
        ...(table.maxRows === undefined ? {} : { maxRows: table.maxRows }),
      }),
    );
  }
  const out: { name: string; version?: string; cksum?: string; tables: ReadonlyMap<string, TableSchema> } = {
    name: schema.name,
    tables,
  };
  if (schema.version !== undefined) out.version = schema.version;
  if (schema.cksum !== undefined) out.cksum = schema.cksum;
  return Object.freeze(out);
}

/**
 * Orders atoms as ovsdb-server orders set elements and map keys (`ovsdb_atom_compare_3way`):
 * numerically for integers and reals, false < true, strings and UUIDs by code point (the byte
 * order of their UTF-8 encoding). Both atoms must be of the same atomic type.
 */
export function compareAtoms(a: Atom, b: Atom): number {
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (a === b) return 0;
  // number/bigint compare correctly with < in JavaScript, and false < true.
  return a < b ? -1 : 1;
}

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // UTF-16 order differs from code point order only for surrogates vs U+E000..U+FFFF.
      if (x >= 0xd800) x = x <= 0xdfff ? x + 0x2000 : x - 0x800;
      if (y >= 0xd800) y = y <= 0xdfff ? y + 0x2000 : y - 0x800;
      return x - y;
    }
  }
  return a.length - b.length;
}
