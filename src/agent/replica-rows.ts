/**
 * Maps replicated OVSDB rows (src/ovsdb's decoded representation: maps as `ReadonlyMap`, sets as
 * arrays, optional columns as `undefined`) onto the planner's plain row shapes (src/plug/rows.ts).
 *
 * Rows are immutable and replaced on every change, so each mapping is memoised per row object:
 * a planning round over 10,000 unchanged ports maps nothing again.
 */
import type { ChangeBatch, Row, TableChanges, TableView } from '../ovsdb/index.js';
import type {
  OvsBridge,
  OvsChanges,
  OvsInterface,
  OvsPort,
  PlanInput,
  RowChanges,
  SbPortBinding,
} from '../plug/index.js';

const portBindingCache = new WeakMap<Row, SbPortBinding>();
const bridgeCache = new WeakMap<Row, OvsBridge>();
const portCache = new WeakMap<Row, OvsPort>();
const interfaceCache = new WeakMap<Row, OvsInterface>();

function memo<T>(cache: WeakMap<Row, T>, row: Row, map: (row: Row) => T): T {
  let mapped = cache.get(row);
  if (mapped === undefined) {
    mapped = map(row);
    cache.set(row, mapped);
  }
  return mapped;
}

export function stringColumn(row: Row, column: string): string {
  const value = row[column];
  return typeof value === 'string' ? value : '';
}

export function optionalString(row: Row, column: string): string | undefined {
  const value = row[column];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

export function optionalInteger(row: Row, column: string): number | undefined {
  const value = row[column];
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value) && typeof value[0] === 'number') return value[0];
  return undefined;
}

export function optionalBoolean(row: Row, column: string): boolean | undefined {
  const value = row[column];
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value) && typeof value[0] === 'boolean') return value[0];
  return undefined;
}

export function stringSet(row: Row, column: string): readonly string[] {
  const value = row[column];
  // The replica's own (frozen) array when it holds only strings: a copy per row would cost ~1.5 MB
  // per 10,000-row table.
  if (Array.isArray(value))
    return value.every((v): v is string => typeof v === 'string')
      ? value
      : value.filter((v): v is string => typeof v === 'string');
  if (value instanceof Set)
    return [...(value as Set<unknown>)].filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return [value];
  return [];
}

export function stringMap(row: Row, column: string): Record<string, string> {
  const value = row[column];
  const out: Record<string, string> = {};
  if (value instanceof Map) {
    for (const [k, v] of value as Map<unknown, unknown>) out[String(k)] = String(v);
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) out[k] = String(v);
  }
  return out;
}

/** `Open_vSwitch other_config` of the (only) Open_vSwitch row; empty when there is none yet. */
export function ovsOtherConfigOf(row: Row | undefined): Record<string, string> {
  return row === undefined ? {} : stringMap(row, 'other_config');
}

export function toPortBinding(row: Row): SbPortBinding {
  return memo(portBindingCache, row, (r) => {
    const parentPort = optionalString(r, 'parent_port');
    const requestedChassis = optionalString(r, 'requested_chassis');
    const chassis = optionalString(r, 'chassis');
    const up = optionalBoolean(r, 'up');
    return {
      uuid: r._uuid,
      logicalPort: stringColumn(r, 'logical_port'),
      type: stringColumn(r, 'type'),
      ...(parentPort === undefined ? {} : { parentPort }),
      options: stringMap(r, 'options'),
      ...(requestedChassis === undefined ? {} : { requestedChassis }),
      requestedAdditionalChassis: stringSet(r, 'requested_additional_chassis'),
      ...(chassis === undefined ? {} : { chassis }),
      ...(up === undefined ? {} : { up }),
      mac: stringSet(r, 'mac'),
    };
  });
}

export function toBridge(row: Row): OvsBridge {
  return memo(bridgeCache, row, (r) => ({
    uuid: r._uuid,
    name: stringColumn(r, 'name'),
    ports: stringSet(r, 'ports'),
    ...('datapath_type' in r ? { datapathType: stringColumn(r, 'datapath_type') } : {}),
  }));
}

export function toPort(row: Row): OvsPort {
  return memo(portCache, row, (r) => ({
    uuid: r._uuid,
    name: stringColumn(r, 'name'),
    interfaces: stringSet(r, 'interfaces'),
  }));
}

export function toInterface(row: Row): OvsInterface {
  return memo(interfaceCache, row, (r) => {
    const mtuRequest = optionalInteger(r, 'mtu_request');
    const ofport = optionalInteger(r, 'ofport');
    const error = optionalString(r, 'error');
    const linkState = optionalString(r, 'link_state');
    const adminState = optionalString(r, 'admin_state');
    return {
      uuid: r._uuid,
      name: stringColumn(r, 'name'),
      type: stringColumn(r, 'type'),
      options: stringMap(r, 'options'),
      externalIds: stringMap(r, 'external_ids'),
      ...(mtuRequest === undefined ? {} : { mtuRequest }),
      ...(ofport === undefined ? {} : { ofport }),
      ...(error === undefined ? {} : { error }),
      ...(linkState === undefined ? {} : { linkState }),
      ...(adminState === undefined ? {} : { adminState }),
    };
  });
}

/**
 * What the planner reads of both replicas, mapped as it iterates them: a planner that reuses its
 * index of unchanged rows (PlanMemo) does not walk them at all. Read within the round that asked.
 */
export function planRows(
  sb: { table(name: string): TableView },
  ovs: { table(name: string): TableView },
): Pick<PlanInput, 'portBindings' | 'bridges' | 'ports' | 'interfaces' | 'ovsOtherConfig'> {
  return {
    portBindings: mappedRows(sb.table('Port_Binding'), toPortBinding),
    bridges: mappedRows(ovs.table('Bridge'), toBridge),
    ports: mappedRows(ovs.table('Port'), toPort),
    interfaces: mappedRows(ovs.table('Interface'), toInterface),
    ovsOtherConfig: ovsOtherConfigOf(ovs.table('Open_vSwitch').all()[0]),
  };
}

function mappedRows<T>(table: TableView, map: (row: Row) => T): Iterable<T> {
  return {
    *[Symbol.iterator]() {
      for (const row of table) yield map(row);
    },
  };
}

/** The rows one table's changes replaced and the rows that replaced them, mapped. */
function rowChanges<T>(changes: TableChanges | undefined, map: (row: Row) => T): RowChanges<T> | undefined {
  if (changes === undefined) return undefined;
  return {
    before: [...changes.deleted.map(map), ...changes.modified.map((m) => map(m.old))],
    after: [...changes.inserted.map(map), ...changes.modified.map((m) => map(m.row))],
  };
}

/** What an applied Southbound update changed for the planner (PlanMemo.noteSb). */
export function sbChangesOf(batch: ChangeBatch): RowChanges<SbPortBinding> | 'reset' {
  if (batch.cleared) return 'reset';
  return rowChanges(batch.tables['Port_Binding'], toPortBinding) ?? { before: [], after: [] };
}

/** What an applied Open vSwitch update changed for the planner (PlanMemo.noteOvs). */
export function ovsChangesOf(batch: ChangeBatch): OvsChanges | 'reset' {
  if (batch.cleared) return 'reset';
  const { tables } = batch;
  const bridges = rowChanges(tables['Bridge'], toBridge);
  const ports = rowChanges(tables['Port'], toPort);
  const interfaces = rowChanges(tables['Interface'], toInterface);
  return {
    ...(bridges === undefined ? {} : { bridges }),
    ...(ports === undefined ? {} : { ports }),
    ...(interfaces === undefined ? {} : { interfaces }),
    ...(tables['Open_vSwitch'] === undefined ? {} : { openVswitch: true }),
  };
}
