/**
 * OVSDB values (RFC 7047 §5.1 notation) ↔ TypeScript values, decided by the column type
 * (see docs/adr/0020-ovsdb-value-representation.md).
 *
 * Representation (stable API):
 * | column kind (schema.ts)  | TypeScript value                        | wire                          |
 * |--------------------------|-----------------------------------------|-------------------------------|
 * | scalar (min 1, max 1)    | the atom                                | bare atom                     |
 * | optional (min 0, max 1)  | atom or `undefined`                     | bare atom / `["set",[]]`      |
 * | set (max > 1)            | frozen `readonly Atom[]`                | `["set",[...]]` or bare atom  |
 * | map                      | `ReadonlyMap<Atom, Atom>`               | `["map",[[k,v],...]]`         |
 * Atoms: string, boolean, real → `number`, uuid → lower-case string; integer → `number` when it
 * is a safe integer and `bigint` otherwise (the framer hands over integers beyond ±2^53 as
 * `bigint`; a bigint in the safe range is normalised to `number`, so equal values always have the
 * same JavaScript type and work as `Map` keys). When encoding, a {@link NamedUuid} may stand for a
 * UUID atom (`["named-uuid", name]`), and encoded integers beyond the safe range stay `bigint`
 * (the JSON writer, `stringifyJson` in framer.ts, writes them exactly).
 *
 * Public API: `decodeAtom`, `decodeDatum`, `applyDatumDiff` (update2 `modify` rules),
 * `encodeAtom`, `encodeDatum`, `datumEquals`, `isDatumMap`, `NamedUuid`, `DatumError`, `isUuid`.
 * Decoding validates everything the type says (atomic type, enum, ranges, string lengths, set
 * and map sizes, duplicates) and throws a {@link DatumError} naming the place and the value.
 */

import {
  compareAtoms,
  canonicalInteger,
  EMPTY_MAP,
  EMPTY_SET,
  type Atom,
  type BaseType,
  type ColumnType,
} from './schema.js';

export type { Atom } from './schema.js';

/** A UUID in its canonical lower-case text form. */
export type Uuid = string;

/**
 * Given the `refTable` of a UUID atom's type and the decoded (lower-case) UUID, returns the string
 * to keep for it: an equal string the caller already holds (e.g. the `_uuid` of the referenced row),
 * so that a replica keeps one string per UUID instead of one per reference. Must return a string
 * equal to `uuid`.
 */
export type UuidInterner = (refTable: string, uuid: Uuid) => Uuid;

/** A decoded column value; see the table at the top of this file. */
export type Datum = Atom | undefined | readonly Atom[] | ReadonlyMap<Atom, Atom>;

/**
 * A reference to a row inserted by the same transaction, by its `uuid-name`; or, when the insert
 * gave an explicit UUID, to that UUID. Encodes as `["named-uuid", name]` resp. `["uuid", uuid]`.
 */
export class NamedUuid {
  constructor(
    /** A legal uuid-name: `[A-Za-z_][A-Za-z0-9_]*`. */
    readonly name: string,
    /** The table of the inserted row (for error messages and typing). */
    readonly table: string,
    /** The explicit UUID of the insert (OVSDB 2.13+), if one was given. */
    readonly uuid?: Uuid,
  ) {
    if (!UUID_NAME_PATTERN.test(name)) {
      throw new DatumError(
        `invalid uuid-name ${JSON.stringify(name)} (must match [A-Za-z_][A-Za-z0-9_]*)`,
        table,
        name,
      );
    }
  }
}

/** An atom as accepted by the encoders. */
export type AtomInput = Atom | NamedUuid;

/** A value as accepted by the encoders: the decoded representation, plus named UUIDs, `Set`s and records for maps. */
export type DatumInput =
  | AtomInput
  | undefined
  | readonly AtomInput[]
  | ReadonlySet<AtomInput>
  | ReadonlyMap<AtomInput, AtomInput>
  | Readonly<Record<string, AtomInput>>;

/** A value does not fit its column type, or is not valid OVSDB notation. */
export class DatumError extends Error {
  override readonly name = 'DatumError';
  constructor(
    message: string,
    /** `Table.column` (or what the caller named) where the bad value was found. */
    readonly where: string,
    /** The offending value, as received. */
    readonly value: unknown,
  ) {
    super(where === '' ? message : `${where}: ${message}`);
  }
}

export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const UUID_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** True for a UUID in text form (any case). */
export function isUuid(value: unknown): value is Uuid {
  return typeof value === 'string' && value.length === 36 && UUID_PATTERN.test(value);
}

function show(value: unknown): string {
  if (value instanceof NamedUuid) return `named-uuid ${value.name}`;
  if (value instanceof Map) return `map of ${value.size}`;
  let text: string;
  try {
    text =
      JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v.toString()}n` : v)) ??
      String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

/** Checks an atom already of the right JavaScript type against the base type's constraints. */
function checkConstraints(base: BaseType, atom: Atom, where: string): void {
  if (base.enum !== undefined && !base.enum.includes(atom)) {
    throw new DatumError(`${show(atom)} is not one of the allowed values ${show(base.enum)}`, where, atom);
  }
  switch (base.type) {
    case 'integer':
      if (base.minInteger !== undefined && (atom as number | bigint) < base.minInteger) {
        throw new DatumError(`${show(atom)} is less than the minimum ${show(base.minInteger)}`, where, atom);
      }
      if (base.maxInteger !== undefined && (atom as number | bigint) > base.maxInteger) {
        throw new DatumError(
          `${show(atom)} is greater than the maximum ${show(base.maxInteger)}`,
          where,
          atom,
        );
      }
      return;
    case 'real':
      if (base.minReal !== undefined && (atom as number) < base.minReal) {
        throw new DatumError(`${show(atom)} is less than the minimum ${base.minReal}`, where, atom);
      }
      if (base.maxReal !== undefined && (atom as number) > base.maxReal) {
        throw new DatumError(`${show(atom)} is greater than the maximum ${base.maxReal}`, where, atom);
      }
      return;
    case 'string':
      if (base.minLength !== undefined || base.maxLength !== undefined) {
        const n = codePointLength(atom as string);
        if (base.minLength !== undefined && n < base.minLength) {
          throw new DatumError(`${show(atom)} is shorter than ${base.minLength} characters`, where, atom);
        }
        if (base.maxLength !== undefined && n > base.maxLength) {
          throw new DatumError(`${show(atom)} is longer than ${base.maxLength} characters`, where, atom);
        }
      }
      return;
    default:
      return;
  }
}

/** Decodes (and validates) one atom in wire notation. */
export function decodeAtom(base: BaseType, wire: unknown, where = ''): Atom {
  let atom: Atom;
  switch (base.type) {
    case 'string':
      if (typeof wire !== 'string') throw new DatumError(`expected a string, got ${show(wire)}`, where, wire);
      atom = wire;
      break;
    case 'integer':
      if (typeof wire === 'number') {
        if (!Number.isInteger(wire))
          throw new DatumError(`expected an integer, got ${show(wire)}`, where, wire);
        if (!Number.isSafeInteger(wire)) {
          throw new DatumError(
            `integer ${show(wire)} lost precision before decoding (beyond ±2^53 as a JSON number)`,
            where,
            wire,
          );
        }
        atom = wire;
      } else if (typeof wire === 'bigint') {
        if (wire < INT64_MIN || wire > INT64_MAX)
          throw new DatumError(`integer ${show(wire)} is outside the 64-bit range`, where, wire);
        atom = canonicalInteger(wire);
      } else {
        throw new DatumError(`expected an integer, got ${show(wire)}`, where, wire);
      }
      break;
    case 'real':
      if (typeof wire === 'number') atom = wire;
      else if (typeof wire === 'bigint') atom = Number(wire);
      else throw new DatumError(`expected a real number, got ${show(wire)}`, where, wire);
      break;
    case 'boolean':
      if (typeof wire !== 'boolean')
        throw new DatumError(`expected a boolean, got ${show(wire)}`, where, wire);
      atom = wire;
      break;
    case 'uuid':
      if (Array.isArray(wire) && wire.length === 2 && wire[0] === 'uuid' && isUuid(wire[1])) {
        atom = wire[1].toLowerCase();
      } else {
        throw new DatumError(`expected ["uuid", "<uuid>"], got ${show(wire)}`, where, wire);
      }
      break;
  }
  checkConstraints(base, atom, where);
  return atom;
}

/** The elements of a `<set>` in wire notation (`["set",[...]]` or a bare atom, checklist C2). */
function setElements(wire: unknown, where: string): readonly unknown[] {
  if (Array.isArray(wire)) {
    if (wire[0] === 'set') {
      if (wire.length !== 2 || !Array.isArray(wire[1]))
        throw new DatumError(`malformed set ${show(wire)}`, where, wire);
      return wire[1] as unknown[];
    }
    if (wire[0] === 'map')
      throw new DatumError(`expected a set or an atom, got a map ${show(wire)}`, where, wire);
  }
  return [wire];
}

function mapPairs(wire: unknown, where: string): readonly unknown[] {
  if (Array.isArray(wire) && wire.length === 2 && wire[0] === 'map' && Array.isArray(wire[1])) {
    return wire[1] as unknown[];
  }
  throw new DatumError(`expected ["map", [[key, value], ...]], got ${show(wire)}`, where, wire);
}

function checkSize(type: ColumnType, n: number, where: string, value: unknown): void {
  if (n < type.min || n > type.max) {
    const range =
      type.max === Infinity
        ? `at least ${type.min}`
        : type.min === type.max
          ? `exactly ${type.min}`
          : `${type.min} to ${type.max}`;
    throw new DatumError(`has ${n} element${n === 1 ? '' : 's'}, the column allows ${range}`, where, value);
  }
}

function decodeSetAtoms(base: BaseType, elements: readonly unknown[], where: string): Atom[] {
  const atoms = new Array<Atom>(elements.length);
  for (let i = 0; i < elements.length; i++) atoms[i] = decodeAtom(base, elements[i], where);
  if (atoms.length > 1 && new Set(atoms).size !== atoms.length) {
    throw new DatumError(`set contains a duplicate value: ${show(elements)}`, where, elements);
  }
  return atoms;
}

function decodeMapEntries(
  type: ColumnType & { value: BaseType },
  pairs: readonly unknown[],
  where: string,
): Map<Atom, Atom> {
  const map = new Map<Atom, Atom>();
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2)
      throw new DatumError(`malformed map pair ${show(pair)}`, where, pair);
    const key = decodeAtom(type.key, pair[0], where);
    if (map.has(key)) throw new DatumError(`map contains the key ${show(key)} twice`, where, pairs);
    map.set(key, decodeAtom(type.value, pair[1], where));
  }
  return map;
}

function hasValue(type: ColumnType): type is ColumnType & { value: BaseType } {
  return type.value !== undefined;
}

function hasReference(type: ColumnType): boolean {
  return type.key.refTable !== undefined || type.value?.refTable !== undefined;
}

/** Replaces, in place, each UUID atom of a `refTable` type by the string `intern` keeps. */
function internAtoms(base: BaseType, atoms: Atom[], intern: UuidInterner): void {
  const refTable = base.refTable;
  if (refTable === undefined) return;
  for (let i = 0; i < atoms.length; i++) atoms[i] = intern(refTable, atoms[i] as Uuid);
}

function internAtom(base: BaseType, atom: Atom, intern: UuidInterner): Atom {
  return base.refTable === undefined ? atom : intern(base.refTable, atom as Uuid);
}

/** {@link decodeDatum} for a column with references, when an interner is given. */
function decodeReferences(type: ColumnType, wire: unknown, where: string, intern: UuidInterner): Datum {
  if (hasValue(type)) {
    const map = decodeDatum(type, wire, where) as ReadonlyMap<Atom, Atom>;
    if (map.size === 0) return map;
    const interned = new Map<Atom, Atom>();
    for (const [key, value] of map)
      interned.set(internAtom(type.key, key, intern), internAtom(type.value, value, intern));
    return interned;
  }
  if (type.max === 1) {
    const atom = decodeDatum(type, wire, where) as Atom | undefined;
    return atom === undefined ? undefined : internAtom(type.key, atom, intern);
  }
  const atoms = decodeSetAtoms(type.key, setElements(wire, where), where);
  checkSize(type, atoms.length, where, wire);
  internAtoms(type.key, atoms, intern);
  return atoms.length === 0 ? EMPTY_SET : Object.freeze(atoms);
}

/**
 * Decodes a full column value in wire notation (as in `initial`, `insert`, v1 `new`, `select`
 * results) into the representation of this file, validating it against `type`. Empty sets and
 * maps are the shared frozen {@link EMPTY_SET} and {@link EMPTY_MAP}. See {@link UuidInterner} for
 * `intern`.
 */
export function decodeDatum(type: ColumnType, wire: unknown, where = '', intern?: UuidInterner): Datum {
  if (intern !== undefined && hasReference(type)) return decodeReferences(type, wire, where, intern);
  if (hasValue(type)) {
    const map = decodeMapEntries(type, mapPairs(wire, where), where);
    checkSize(type, map.size, where, wire);
    return map.size === 0 ? EMPTY_MAP : map;
  }
  if (type.max === 1) {
    // Fast path: a bare atom (by far the most common case on the wire).
    if (!Array.isArray(wire) || wire[0] === 'uuid') return decodeAtom(type.key, wire, where);
    const elements = setElements(wire, where);
    checkSize(type, elements.length, where, wire);
    return elements.length === 0 ? undefined : decodeAtom(type.key, elements[0], where);
  }
  const atoms = decodeSetAtoms(type.key, setElements(wire, where), where);
  checkSize(type, atoms.length, where, wire);
  return atoms.length === 0 ? EMPTY_SET : Object.freeze(atoms);
}

/**
 * Applies an `update2`/`update3` `modify` diff to a column value (ovsdb-server.7 §4.1.14,
 * checklist §1.4): for `max == 1` the diff is the new value; for sets the diff is the symmetric
 * difference; for maps each diff pair adds a missing key, removes a key present with the same
 * value, or replaces the value of a key present with another value. The result is checked against
 * the column's size limits (as `ovsdb_datum_apply_diff` does) and is sorted as ovsdb-server sorts,
 * so a value built from diffs equals the value a fresh `initial` would carry. See
 * {@link UuidInterner} for `intern`.
 */
export function applyDatumDiff(
  type: ColumnType,
  old: Datum,
  diff: unknown,
  where = '',
  intern?: UuidInterner,
): Datum {
  if (type.max === 1) return decodeDatum(type, diff, where, intern);
  if (hasValue(type)) {
    if (!(old instanceof Map)) throw new DatumError('current value is not a map', where, old);
    const result = new Map<Atom, Atom>(old);
    for (const pair of mapPairs(diff, where)) {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw new DatumError(`malformed map pair ${show(pair)}`, where, pair);
      let key = decodeAtom(type.key, pair[0], where);
      let value = decodeAtom(type.value, pair[1], where);
      if (intern !== undefined) {
        key = internAtom(type.key, key, intern);
        value = internAtom(type.value, value, intern);
      }
      if (result.has(key) && result.get(key) === value) result.delete(key);
      else result.set(key, value);
    }
    checkSize(type, result.size, where, diff);
    if (result.size === 0) return EMPTY_MAP;
    return keysSorted(result) ? result : new Map([...result].sort((a, b) => compareAtoms(a[0], b[0])));
  }
  if (!Array.isArray(old)) throw new DatumError('current value is not a set', where, old);
  const toggles = decodeSetAtoms(type.key, setElements(diff, where), where);
  if (intern !== undefined) internAtoms(type.key, toggles, intern);
  const toggled = new Set<Atom>(toggles);
  const result: Atom[] = [];
  for (const atom of old as readonly Atom[]) {
    if (toggled.has(atom)) toggled.delete(atom);
    else result.push(atom);
  }
  for (const atom of toggled) result.push(atom);
  checkSize(type, result.length, where, diff);
  if (result.length === 0) return EMPTY_SET;
  result.sort(compareAtoms);
  return Object.freeze(result);
}

function keysSorted(map: ReadonlyMap<Atom, Atom>): boolean {
  let previous: Atom | undefined;
  for (const key of map.keys()) {
    if (previous !== undefined && compareAtoms(previous, key) > 0) return false;
    previous = key;
  }
  return true;
}

/** Encodes one atom (validated against `base`) into wire notation. */
export function encodeAtom(base: BaseType, value: AtomInput, where = ''): unknown {
  if (value instanceof NamedUuid) {
    if (base.type !== 'uuid')
      throw new DatumError(`a row reference (${value.name}) is not a ${base.type}`, where, value);
    return value.uuid === undefined ? ['named-uuid', value.name] : ['uuid', value.uuid];
  }
  let atom: Atom;
  switch (base.type) {
    case 'integer':
      if (typeof value === 'number' && Number.isSafeInteger(value)) atom = value;
      else if (typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX)
        atom = canonicalInteger(value);
      else
        throw new DatumError(
          `expected a 64-bit integer (number or bigint), got ${show(value)}`,
          where,
          value,
        );
      break;
    case 'real':
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new DatumError(`expected a finite number, got ${show(value)}`, where, value);
      atom = value;
      break;
    case 'boolean':
      if (typeof value !== 'boolean')
        throw new DatumError(`expected a boolean, got ${show(value)}`, where, value);
      atom = value;
      break;
    case 'string':
      if (typeof value !== 'string')
        throw new DatumError(`expected a string, got ${show(value)}`, where, value);
      atom = value;
      break;
    case 'uuid':
      if (!isUuid(value))
        throw new DatumError(`expected a UUID string or a row reference, got ${show(value)}`, where, value);
      atom = value.toLowerCase();
      break;
  }
  checkConstraints(base, atom, where);
  return base.type === 'uuid' ? ['uuid', atom] : atom;
}

function isInputMap(value: DatumInput): value is ReadonlyMap<AtomInput, AtomInput> {
  return value instanceof Map;
}

function isMapInput(
  value: DatumInput,
): value is ReadonlyMap<AtomInput, AtomInput> | Readonly<Record<string, AtomInput>> {
  return (
    value instanceof Map ||
    (typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      !(value instanceof Set) &&
      !(value instanceof NamedUuid))
  );
}

/**
 * Encodes a value into wire notation for `type`, validating it (size limits included; callers
 * that need relaxed limits, e.g. for `includes` or `insert` mutations, pass a relaxed type).
 * Maps accept a `Map` or a plain record (string keys); sets accept an array or a `Set`.
 */
export function encodeDatum(type: ColumnType, value: DatumInput, where = ''): unknown {
  if (hasValue(type)) {
    if (!isMapInput(value))
      throw new DatumError(`expected a map (Map or record), got ${show(value)}`, where, value);
    const entries: (readonly [AtomInput, AtomInput])[] = isInputMap(value)
      ? [...value.entries()]
      : Object.entries(value);
    checkSize(type, entries.length, where, value);
    return [
      'map',
      entries.map(([k, v]) => [encodeAtom(type.key, k, where), encodeAtom(type.value, v, where)]),
    ];
  }
  if (type.max === 1 && !Array.isArray(value) && !(value instanceof Set)) {
    if (value === undefined) {
      checkSize(type, 0, where, value);
      return ['set', []];
    }
    if (isMapInput(value)) throw new DatumError(`expected a single value, got ${show(value)}`, where, value);
    return encodeAtom(type.key, value as AtomInput, where);
  }
  if (!Array.isArray(value) && !(value instanceof Set)) {
    throw new DatumError(`expected a set (array or Set), got ${show(value)}`, where, value);
  }
  const elements = [...(value as Iterable<AtomInput>)];
  checkSize(type, elements.length, where, value);
  return ['set', elements.map((e) => encodeAtom(type.key, e, where))];
}

/** True when a decoded value is a map (the value of a map column). */
export function isDatumMap(value: Datum): value is ReadonlyMap<Atom, Atom> {
  return value instanceof Map;
}

/** Value equality of two decoded data of the same column type (sets compare as sets). */
export function datumEquals(a: Datum, b: Datum): boolean {
  if (a === b) return true;
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || b.get(k) !== v) return false;
    }
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    const set = new Set<unknown>(a);
    return b.every((x: unknown) => set.has(x));
  }
  return false;
}
