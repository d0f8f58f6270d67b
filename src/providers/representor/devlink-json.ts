/**
 * Reading iproute2's `devlink -j` output (pure, no I/O).
 *
 * Shapes assumed (iproute2 `devlink/devlink.c`, `pr_out_port` and `cmd_mon_show`, checked against
 * iproute2 6.1 and 6.16):
 *
 * - `devlink -j port show` prints one document
 *   `{"port":{"<bus>/<device>/<index>":{ "type":"eth", "netdev":"pf0vf0", "flavour":"pcivf",
 *   "controller":1, "pfnum":0, "vfnum":0, "external":true, "splittable":false,
 *   "function":{"hw_addr":"00:00:00:00:00:00", ...}}, ...}}`. Numbers are JSON numbers, booleans
 *   JSON booleans; `controller`/`pfnum`/`vfnum`/`sfnum`/`external` appear only for the pcipf, pcivf
 *   and pcisf flavours; `port` is the physical port number; `netdev` is absent while a port has no
 *   netdev (type `notset`). The handle is always `bus/device/index` (never a netdev name).
 * - `devlink -j monitor port` prints ONE never-ending document `{"mon":[` followed by events
 *   separated by commas, no newlines, flushed after each event, and `]}` only when it exits. An
 *   event is `{"command":"new"|"set"|"get"|"del","port":{"<handle>":{...same fields as above}}}`.
 *   The kernel sends `new` for a new port, for a netdev (un)registration and for a netdev rename,
 *   always with the port's complete current attributes; `del` when the port goes. The parser also
 *   accepts one event object per line (newline-delimited JSON), so either framing works.
 */

/** One devlink port as printed by `devlink -j port show` (field names follow devlink's). */
export interface DevlinkPort {
  /** `bus/device/index`, e.g. `pci/0000:03:00.0/196609`: what `devlink port function set` takes. */
  readonly handle: string;
  /** `bus/device`, e.g. `pci/0000:03:00.0`. */
  readonly device: string;
  readonly index: number;
  /** `eth`, `ib`, `notset`, `auto`. */
  readonly type?: string;
  /** The port's netdev name; absent while it has none. */
  readonly netdev?: string;
  /** `physical`, `cpu`, `dsa`, `pcipf`, `pcivf`, `pcisf`, `virtual`. */
  readonly flavour?: string;
  /** Controller number: 0 is the local host, others are external hosts (BlueField's host is 1). */
  readonly controller?: number;
  readonly pfnum?: number;
  readonly vfnum?: number;
  readonly sfnum?: number;
  readonly external?: boolean;
  /** Physical port number (`port`), for the `physical` flavour. */
  readonly portNumber?: number;
  /** The port function's `hw_addr`, lower case: for a pcipf port the host PF's MAC. */
  readonly hwAddr?: string;
  /** `function.state` (`active`/`inactive`, SFs). */
  readonly functionState?: string;
  /** `function.opstate` (`attached`/`detached`, SFs). */
  readonly functionOpstate?: string;
  /** `function.roce` (`enable`/`disable`), printed by iproute2 ≥ 6.2 when the device reports it. */
  readonly functionRoce?: string;
  /** `function.migratable` (`enable`/`disable`), likewise. */
  readonly functionMigratable?: string;
}

export type DevlinkPortCommand = 'new' | 'set' | 'get' | 'del';

/** One `devlink monitor port` event. */
export interface DevlinkPortEvent {
  readonly command: DevlinkPortCommand;
  readonly port: DevlinkPort;
}

/** devlink printed something this module cannot read; the message names the value. */
export class DevlinkOutputError extends Error {
  override readonly name = 'DevlinkOutputError';
}

/** Result of reading a port dump: ports that could be read and what was wrong with the others. */
export interface PortDump {
  readonly ports: readonly DevlinkPort[];
  readonly problems: readonly string[];
}

const HANDLE_PATTERN = /^([^/\s]+\/[^/\s]+)\/(\d+)$/;
const HW_ADDR_PATTERN = /^[0-9a-f]{2}(?::[0-9a-f]{2})+$/i;
/** What Linux accepts as a netdev name (`dev_valid_name`): 1–15 chars, no `/`, `:` or whitespace. */
const NETDEV_NAME_PATTERN = /^(?!\.\.?$)[^\s/:]{1,15}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text;
}

function optionalString(handle: string, entry: Record<string, unknown>, key: string): string | undefined {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new DevlinkOutputError(`devlink port ${handle}: "${key}" is not a string: ${describe(value)}`);
  }
  return value;
}

function optionalCount(handle: string, entry: Record<string, unknown>, key: string): number | undefined {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new DevlinkOutputError(
      `devlink port ${handle}: "${key}" is not a non-negative integer: ${describe(value)}`,
    );
  }
  return value;
}

function optionalBoolean(handle: string, entry: Record<string, unknown>, key: string): boolean | undefined {
  const value = entry[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    throw new DevlinkOutputError(`devlink port ${handle}: "${key}" is not a boolean: ${describe(value)}`);
  }
  return value;
}

function netdevName(handle: string, entry: Record<string, unknown>): string | undefined {
  const netdev = optionalString(handle, entry, 'netdev');
  if (netdev === undefined || NETDEV_NAME_PATTERN.test(netdev)) return netdev;
  throw new DevlinkOutputError(
    `devlink port ${handle}: "netdev" is not a valid interface name: ${describe(netdev)}`,
  );
}

function functionObject(handle: string, entry: Record<string, unknown>): Record<string, unknown> | undefined {
  const fn = entry['function'];
  if (fn === undefined) return undefined;
  if (!isRecord(fn)) {
    throw new DevlinkOutputError(`devlink port ${handle}: "function" is not an object: ${describe(fn)}`);
  }
  return fn;
}

function functionString(handle: string, entry: Record<string, unknown>, key: string): string | undefined {
  const fn = functionObject(handle, entry);
  if (fn === undefined) return undefined;
  const value = fn[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new DevlinkOutputError(
      `devlink port ${handle}: "function.${key}" is not a string: ${describe(value)}`,
    );
  }
  return value;
}

function functionHwAddr(handle: string, entry: Record<string, unknown>): string | undefined {
  const fn = functionObject(handle, entry);
  if (fn === undefined) return undefined;
  const hwAddr = optionalString(handle, fn, 'hw_addr');
  if (hwAddr === undefined) return undefined;
  if (!HW_ADDR_PATTERN.test(hwAddr)) {
    throw new DevlinkOutputError(`devlink port ${handle}: "function.hw_addr" is not an address: "${hwAddr}"`);
  }
  return hwAddr.toLowerCase();
}

/**
 * Reads one port entry (`"<handle>": {...}`).
 * @throws DevlinkOutputError naming the handle and the field when a field has the wrong shape.
 */
export function parsePortEntry(handle: string, value: unknown): DevlinkPort {
  const match = HANDLE_PATTERN.exec(handle);
  if (match === null) {
    throw new DevlinkOutputError(`devlink port handle is not "bus/device/index": "${handle}"`);
  }
  if (!isRecord(value)) {
    throw new DevlinkOutputError(`devlink port ${handle}: attributes are not an object: ${describe(value)}`);
  }
  const fields: { -readonly [K in keyof DevlinkPort]: DevlinkPort[K] } = {
    handle,
    device: match[1] ?? '',
    index: Number(match[2]),
  };
  const optional = {
    type: optionalString(handle, value, 'type'),
    netdev: netdevName(handle, value),
    flavour: optionalString(handle, value, 'flavour'),
    controller: optionalCount(handle, value, 'controller'),
    pfnum: optionalCount(handle, value, 'pfnum'),
    vfnum: optionalCount(handle, value, 'vfnum'),
    sfnum: optionalCount(handle, value, 'sfnum'),
    external: optionalBoolean(handle, value, 'external'),
    portNumber: optionalCount(handle, value, 'port'),
    hwAddr: functionHwAddr(handle, value),
    functionState: functionString(handle, value, 'state'),
    functionOpstate: functionString(handle, value, 'opstate'),
    functionRoce: functionString(handle, value, 'roce'),
    functionMigratable: functionString(handle, value, 'migratable'),
  };
  for (const [key, fieldValue] of Object.entries(optional)) {
    if (fieldValue !== undefined) Object.assign(fields, { [key]: fieldValue });
  }
  return fields;
}

/**
 * Reads the output of `devlink -j port show`. Entries with a malformed field are left out and
 * reported in `problems` (one bad port must not hide the others).
 * @throws DevlinkOutputError when the text is not the documented document at all.
 */
export function parsePortShowOutput(text: string): PortDump {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const excerpt = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    throw new DevlinkOutputError(`devlink -j port show printed no JSON: "${excerpt}"`, { cause: error });
  }
  if (!isRecord(document)) {
    throw new DevlinkOutputError(`devlink -j port show printed ${describe(document)}, not an object`);
  }
  const table = document['port'] ?? {};
  if (!isRecord(table)) {
    throw new DevlinkOutputError(`devlink -j port show: "port" is not an object: ${describe(table)}`);
  }
  const ports: DevlinkPort[] = [];
  const problems: string[] = [];
  for (const [handle, value] of Object.entries(table)) {
    try {
      ports.push(parsePortEntry(handle, value));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  return { ports, problems };
}

/** A port event is well under 1 KiB; anything this long is not an event. */
const MAX_EVENT_CHARS = 1 << 20;

const PORT_COMMANDS: ReadonlySet<string> = new Set<DevlinkPortCommand>(['new', 'set', 'get', 'del']);

/**
 * Reads one monitor event object. Returns undefined for events about other objects (dev, health,
 * trap…), which a `monitor port` never prints but a `monitor all` would.
 * @throws DevlinkOutputError for a port event with a malformed shape.
 */
export function parseMonitorEvent(value: unknown): DevlinkPortEvent | undefined {
  if (!isRecord(value)) {
    throw new DevlinkOutputError(`devlink monitor event is not an object: ${describe(value)}`);
  }
  const portTable = value['port'];
  if (portTable === undefined) return undefined;
  const command = value['command'];
  if (typeof command !== 'string' || !PORT_COMMANDS.has(command)) {
    throw new DevlinkOutputError(`devlink monitor port event has an unknown command: ${describe(command)}`);
  }
  if (!isRecord(portTable)) {
    throw new DevlinkOutputError(
      `devlink monitor port event: "port" is not an object: ${describe(portTable)}`,
    );
  }
  const entries = Object.entries(portTable);
  const first = entries[0];
  if (entries.length !== 1 || first === undefined) {
    throw new DevlinkOutputError(
      `devlink monitor port event must name exactly one port, got ${entries.length}: ${describe(portTable)}`,
    );
  }
  return { command: command as DevlinkPortCommand, port: parsePortEntry(first[0], first[1]) };
}

/** What one chunk of monitor output yielded. */
export interface MonitorChunkResult {
  readonly events: readonly DevlinkPortEvent[];
  readonly problems: readonly string[];
}

/**
 * Incremental reader for the `devlink -j monitor port` stream. Feed it stdout chunks as they
 * arrive; it yields each event as soon as its closing brace arrives. It understands the
 * `{"mon":[ev,ev,…]}` framing devlink uses and newline-delimited event objects; it buffers only
 * the event being read, never the whole stream.
 */
export class DevlinkMonitorParser {
  /** Nesting depth of `{`/`[` outside strings, counted from the start of the stream. */
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** Depth at which event objects start: 0 for newline-delimited events, 2 inside `{"mon":[`. */
  #eventDepth = 0;
  /** Text of the wrapper's opening (`{"mon":[`) while it is being recognised. */
  #prefix: string | undefined;
  /** Text of the event being read, or undefined between events. */
  #event: string | undefined;

  push(chunk: string): MonitorChunkResult {
    const events: DevlinkPortEvent[] = [];
    const problems: string[] = [];
    for (const char of chunk) {
      this.#consume(char, events, problems);
    }
    return { events, problems };
  }

  #consume(char: string, events: DevlinkPortEvent[], problems: string[]): void {
    if (this.#prefix !== undefined) {
      this.#readPrefix(char, events, problems);
      return;
    }
    if (this.#event !== undefined) {
      this.#feedEvent(char, events, problems);
      return;
    }
    if (char === '{' && this.#depth === 0) {
      this.#prefix = '{';
      this.#depth = 1;
      return;
    }
    if (char === '{' && this.#depth === this.#eventDepth) {
      this.#event = '{';
      this.#depth += 1;
      return;
    }
    if (char === ']' || char === '}') {
      this.#depth = Math.max(0, this.#depth - 1);
      if (this.#depth < this.#eventDepth) this.#eventDepth = 0;
    }
    // Commas, whitespace and anything else between events carry no information.
  }

  /**
   * Decides whether a top-level `{` opens devlink's `{"mon":[` wrapper or a newline-delimited
   * event, without buffering more than the few characters that tell them apart.
   */
  #readPrefix(char: string, events: DevlinkPortEvent[], problems: string[]): void {
    const text = `${this.#prefix ?? ''}${char}`;
    const compact = text.replace(/\s+/g, '');
    if (compact === '{"mon":[') {
      this.#prefix = undefined;
      this.#depth = 2;
      this.#eventDepth = 2;
      return;
    }
    if ('{"mon":['.startsWith(compact)) {
      this.#prefix = text;
      return;
    }
    // Not the wrapper: this top-level object is itself an event. Replay what was held back.
    this.#prefix = undefined;
    this.#depth = 0;
    this.#eventDepth = 0;
    this.#event = '';
    for (const held of text) {
      if (this.#event === undefined) this.#consume(held, events, problems);
      else this.#feedEvent(held, events, problems);
    }
  }

  #feedEvent(char: string, events: DevlinkPortEvent[], problems: string[]): void {
    this.#event = `${this.#event ?? ''}${char}`;
    if (this.#event.length > MAX_EVENT_CHARS) {
      problems.push(
        `devlink monitor printed an event longer than ${MAX_EVENT_CHARS} characters; resynchronising`,
      );
      this.#reset();
      return;
    }
    if (this.#track(char) && this.#depth === this.#eventDepth) {
      const text = this.#event;
      this.#event = undefined;
      this.#emit(text, events, problems);
    }
  }

  /** Forgets everything: the next top-level `{` starts afresh (events or a new wrapper). */
  #reset(): void {
    this.#depth = 0;
    this.#inString = false;
    this.#escaped = false;
    this.#eventDepth = 0;
    this.#prefix = undefined;
    this.#event = undefined;
  }

  /** Updates string/depth state for a character inside an event; true when depth changed. */
  #track(char: string): boolean {
    if (this.#inString) {
      if (this.#escaped) this.#escaped = false;
      else if (char === '\\') this.#escaped = true;
      else if (char === '"') this.#inString = false;
      return false;
    }
    if (char === '"') {
      this.#inString = true;
      return false;
    }
    if (char === '{' || char === '[') {
      this.#depth += 1;
      return true;
    }
    if (char === '}' || char === ']') {
      this.#depth -= 1;
      return true;
    }
    return false;
  }

  #emit(text: string, events: DevlinkPortEvent[], problems: string[]): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      problems.push(`devlink monitor printed an event that is not JSON: ${text.slice(0, 120)}`);
      return;
    }
    try {
      const event = parseMonitorEvent(value);
      if (event !== undefined) events.push(event);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
}
