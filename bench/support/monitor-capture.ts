/**
 * ovn-controller's Southbound monitor as captured from a real ovn-controller (through the SB
 * server's `jsonrpc` debug log), turned into requests the scale benchmark can replay for other
 * chassis. Everything here is pure: parsing the log, folding a connection's monitor requests into
 * the conditions in effect, and rewriting those conditions for another chassis.
 * The capture itself: bench/capture-sb-monitor.ts; the fixture and how it was made:
 * test/fixtures/ovn-controller-sb-monitor/.
 */

/** Where the capture is kept (relative to the repository root). */
export const MONITOR_FIXTURE = 'test/fixtures/ovn-controller-sb-monitor/ovn-controller-sb-monitor.json';

/** One JSON-RPC message as ovsdb-server's `jsonrpc` module logs it at debug level. */
export interface JsonrpcLogEntry {
  /** Wall-clock time of the log line, ms since the epoch (the log has ms resolution). */
  readonly timeMs: number;
  /** The server's name of the connection, e.g. `unix#4` or `tcp:127.0.0.1:40312`. */
  readonly connection: string;
  readonly direction: 'received' | 'send';
  readonly kind: 'request' | 'notification' | 'reply' | 'error';
  readonly method?: string;
  readonly params?: unknown;
  readonly result?: unknown;
  readonly id?: unknown;
}

const LINE =
  /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|\d+\|jsonrpc\|DBG\|(.+?): (received|send) (request|notification|reply|error), (.*)$/;

/**
 * Parses the `jsonrpc` debug lines of an ovsdb-server log (other lines are skipped). A line whose
 * JSON does not parse (a message cut by the log) is skipped too: callers check that what they
 * need was found.
 */
export function parseJsonrpcLog(text: string): JsonrpcLogEntry[] {
  const entries: JsonrpcLogEntry[] = [];
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (match === null) continue;
    const [, time, connection, direction, kind, body] = match as unknown as [
      string,
      string,
      string,
      'received' | 'send',
      JsonrpcLogEntry['kind'],
      string,
    ];
    const base = { timeMs: Date.parse(time), connection, direction, kind };
    try {
      if (kind === 'notification') {
        const m = /^method="([^"]+)", params=(.*)$/.exec(body);
        if (m === null) continue;
        entries.push({ ...base, method: m[1] ?? '', params: JSON.parse(m[2] ?? '') });
      } else if (kind === 'request') {
        const m = /^method="([^"]+)", params=(.*)$/s.exec(body);
        const split = m === null ? undefined : splitBeforeId(m[2] ?? '');
        if (m === null || split === undefined) continue;
        entries.push({ ...base, method: m[1] ?? '', params: split.value, id: split.id });
      } else {
        const m = /^(?:result|error)=(.*)$/s.exec(body);
        const split = m === null ? undefined : splitBeforeId(m[1] ?? '');
        if (split === undefined) continue;
        entries.push({ ...base, result: split.value, id: split.id });
      }
    } catch {
      continue;
    }
  }
  return entries;
}

/**
 * `<json>, id=<json>`: either part may contain ", id=" inside a string, so every split point is
 * tried until both sides parse.
 */
function splitBeforeId(text: string): { value: unknown; id: unknown } | undefined {
  for (let at = text.indexOf(', id='); at >= 0; at = text.indexOf(', id=', at + 1)) {
    try {
      return { value: JSON.parse(text.slice(0, at)), id: JSON.parse(text.slice(at + 5)) };
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** One table of a monitor request: the columns asked for and the condition in effect. */
export interface MonitoredTable {
  readonly columns?: readonly string[];
  /** RFC 7047 condition clauses (ORed by monitor semantics); absent = every row. */
  readonly where?: readonly unknown[];
}

export type MonitorTables = Readonly<Record<string, MonitoredTable>>;

/** The requests of one captured connection, in order, as stored in the fixture. */
export interface CapturedRequest {
  readonly method: string;
  readonly params: unknown;
}

/**
 * Folds a connection's requests into the monitor in effect for `database`: the tables and
 * columns of its `monitor_cond_since` / `monitor_cond` request, with every later
 * `monitor_cond_change` applied in order (a change replaces the condition of the tables it
 * names). Throws when the connection never monitored `database`.
 */
export function monitorInEffect(requests: readonly CapturedRequest[], database: string): MonitorTables {
  let tables: Record<string, MonitoredTable> | undefined;
  for (const request of requests) {
    const params = request.params;
    if (!Array.isArray(params)) continue;
    if (
      (request.method === 'monitor_cond_since' || request.method === 'monitor_cond') &&
      params[0] === database
    ) {
      tables = {};
      for (const [table, specs] of Object.entries(asRecord(params[2], `${request.method} tables`))) {
        tables[table] = tableSpec(specs, `${request.method} ${table}`);
      }
    } else if (request.method === 'monitor_cond_change' && tables !== undefined) {
      for (const [table, specs] of Object.entries(asRecord(params[2], 'monitor_cond_change tables'))) {
        const previous = tables[table];
        if (previous === undefined) throw new Error(`monitor_cond_change names unmonitored table ${table}`);
        const next = tableSpec(specs, `monitor_cond_change ${table}`);
        tables[table] = { ...previous, ...(next.where === undefined ? {} : { where: next.where }) };
      }
    }
  }
  if (tables === undefined) throw new Error(`no monitor request for database ${database} in the capture`);
  return tables;
}

function tableSpec(specs: unknown, place: string): MonitoredTable {
  if (!Array.isArray(specs) || specs.length !== 1)
    throw new Error(`${place}: expected one monitor-cond-request, got ${JSON.stringify(specs)}`);
  const spec = asRecord(specs[0], place);
  const columns = spec['columns'];
  const where = spec['where'];
  if (columns !== undefined && !(Array.isArray(columns) && columns.every((c) => typeof c === 'string')))
    throw new Error(`${place}: columns is not a list of names: ${JSON.stringify(columns)}`);
  if (where !== undefined && !Array.isArray(where))
    throw new Error(`${place}: where is not a list: ${JSON.stringify(where)}`);
  return {
    ...(columns === undefined ? {} : { columns: columns }),
    ...(where === undefined ? {} : { where: where as unknown[] }),
  };
}

function asRecord(value: unknown, place: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${place}: expected an object, got ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

/**
 * Who the captured controller was: its chassis, and the one local datapath and one local port
 * it had when the capture ended. Conditions mention these values; they are what gets rewritten.
 */
export interface CaptureIdentity {
  readonly chassisName: string;
  readonly chassisUuid: string;
  readonly datapathUuid: string;
  readonly logicalPort: string;
}

/** The chassis a replayed monitor stands for, with its local datapaths and ports. */
export interface ReplayIdentity {
  readonly chassisName: string;
  readonly chassisUuid: string;
  readonly datapathUuids: readonly string[];
  readonly logicalPorts: readonly string[];
}

/** The fixture file (test/fixtures/ovn-controller-sb-monitor/*.json). */
export interface MonitorCaptureFixture {
  readonly description: string;
  readonly capturedFrom: string;
  readonly database: string;
  readonly identity: CaptureIdentity;
  /** Requests of the controller's connection, in order (`_Server` monitor included). */
  readonly requests: readonly CapturedRequest[];
}

/** Validates a parsed fixture file; errors name the missing or malformed field. */
export function parseMonitorCaptureFixture(value: unknown): MonitorCaptureFixture {
  const root = asRecord(value, 'fixture');
  const text = (key: string, from: Record<string, unknown>): string => {
    const v = from[key];
    if (typeof v !== 'string' || v === '') throw new Error(`fixture: ${key} must be a non-empty string`);
    return v;
  };
  const identity = asRecord(root['identity'], 'fixture identity');
  const requests = root['requests'];
  if (!Array.isArray(requests) || requests.length === 0)
    throw new Error('fixture: requests must be a non-empty list');
  return {
    description: text('description', root),
    capturedFrom: text('capturedFrom', root),
    database: text('database', root),
    identity: {
      chassisName: text('chassisName', identity),
      chassisUuid: text('chassisUuid', identity),
      datapathUuid: text('datapathUuid', identity),
      logicalPort: text('logicalPort', identity),
    },
    requests: requests.map((r, i) => {
      const request = asRecord(r, `fixture request ${i}`);
      return { method: text('method', request), params: request['params'] };
    }),
  };
}

/**
 * The captured monitor rewritten for another chassis: the chassis name and UUID replaced, every
 * clause that mentions the captured local datapath repeated once per local datapath of `target`,
 * and every clause that mentions the captured local port repeated once per local port — which is
 * how ovn-controller grows its conditions with what it has bound.
 */
export function monitorForChassis(
  tables: MonitorTables,
  captured: CaptureIdentity,
  target: ReplayIdentity,
): MonitorTables {
  const out: Record<string, MonitoredTable> = {};
  for (const [name, table] of Object.entries(tables)) {
    if (table.where === undefined) {
      out[name] = table;
      continue;
    }
    const where: unknown[] = [];
    for (const clause of table.where) {
      const fixed = substitute(clause, captured.chassisUuid, target.chassisUuid);
      const named = substitute(fixed, captured.chassisName, target.chassisName);
      if (mentions(named, captured.datapathUuid))
        for (const dp of target.datapathUuids) where.push(substitute(named, captured.datapathUuid, dp));
      else if (mentions(named, captured.logicalPort))
        for (const port of target.logicalPorts) where.push(substitute(named, captured.logicalPort, port));
      else where.push(named);
    }
    out[name] = { ...table, where: where.length === 0 ? [false] : where };
  }
  return out;
}

function mentions(value: unknown, text: string): boolean {
  if (value === text) return true;
  return Array.isArray(value) && value.some((v) => mentions(v, text));
}

function substitute(value: unknown, from: string, to: string): unknown {
  if (value === from) return to;
  return Array.isArray(value) ? value.map((v) => substitute(v, from, to)) : value;
}

/** `params[2]` of a monitor request for `tables` (the JSON the server expects). */
export function monitorRequestTables(tables: MonitorTables): Record<string, unknown[]> {
  return Object.fromEntries(
    Object.entries(tables).map(([name, t]) => [
      name,
      [
        {
          ...(t.columns === undefined ? {} : { columns: t.columns }),
          ...(t.where === undefined ? {} : { where: t.where }),
        },
      ],
    ]),
  );
}
