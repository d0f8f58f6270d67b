/**
 * The `representor` plug provider (DESIGN §3.7): plugs the representor netdev of a host PF, VF or
 * SF, found by the host PF's MAC address in the devlink port table.
 *
 * How the table stays fresh without ever blocking `prepare()`:
 * - `init()` starts `<devlink> -j monitor port` and then reads `<devlink> -j port show` (monitor
 *   first, so no event between the two is lost; events that arrive while a dump is in flight are
 *   replayed on top of it, in order). Failure of the dump (no binary, no kernel support) rejects
 *   `init()` with the reason, so the registry marks the provider unavailable.
 * - When the monitor dies it is restarted with exponential backoff, followed by a fresh dump.
 * - Every change of the table sets a flag that `run()` returns (and clears), and calls the
 *   optional `onChange` so the agent can replan at once instead of at its next tick.
 * - PF MACs that devlink does not report are read from sysfs asynchronously; until then the PF is
 *   listed without a MAC and lookups say so.
 *
 * MAC programming (ADR 0050): when a request carries `mac` and the VF/SF function's `hw_addr`
 * differs, `prepare()` starts `devlink port function set <port> hw_addr <mac>` in the background
 * and answers not-now (`ProgrammingMac`) until it finished; the table change then triggers a
 * replan. A device that does not support it is reported (log, inventory note) and plugged anyway;
 * other failures keep the port Pending with the error and are retried with backoff.
 */
import { readFile } from 'node:fs/promises';
import type {
  InventoryItem,
  LinkObservation,
  PlugAnswer,
  PlugProvider,
  PlugRequest,
  ProviderInventory,
  ProviderLogger,
  NotNow,
} from '../../plug/provider.js';
import type { DevlinkPort, DevlinkPortEvent } from './devlink-json.js';
import { DevlinkMonitorParser, parsePortShowOutput } from './devlink-json.js';
import type { FallbackMac, FunctionPort, HostPf, PortTable } from './port-table.js';
import { PROVISIONAL_NETDEV_NAME, buildPortTable, pfsNeedingFallbackMac } from './port-table.js';
import type { RepresentorMatch } from './lookup.js';
import { lookupRepresentor, notNow, parseSelector } from './lookup.js';
import { parseSmartNicPfConfig, smartNicPfConfigPath } from './sysfs.js';
import { OperstateCache } from './operstate.js';
import type { SpawnProcess, SpawnedProcess, Timers } from './process.js';
import { CommandError, formatCommand, globalTimers, runCommand, spawnProcess } from './process.js';

export const REPRESENTOR_PROVIDER_TYPE = 'representor';

/** Backoff for restarting the monitor child and retrying failed MAC programming. */
export interface BackoffOptions {
  /** First delay. Default 500 ms. */
  readonly initialMs?: number;
  /** Upper bound of the doubling delay. Default 30 s. */
  readonly maxMs?: number;
  /** A monitor that ran at least this long restarts from `initialMs` again. Default 10 s. */
  readonly stableAfterMs?: number;
}

export interface RepresentorProviderOptions {
  /** devlink binary (`--devlink-command`). Default `devlink` from the PATH. */
  readonly devlinkCommand?: string;
  /** Root of sysfs for the PF MAC fallback. Default `/sys`. */
  readonly sysfsRoot?: string;
  readonly spawn?: SpawnProcess;
  /** Reads a sysfs file. Default `fs.promises.readFile` as UTF-8. */
  readonly readFile?: (path: string) => Promise<string>;
  readonly logger?: ProviderLogger;
  readonly timers?: Timers;
  /** Milliseconds clock. Default `Date.now`. */
  readonly now?: () => number;
  /** Limit for one `devlink port show` / `port function set`. Default 10 s. */
  readonly commandTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  /**
   * How long a representor that appeared at run time with a provisional `eth<N>` name is assumed
   * to be about to be renamed by udev. After that the name is plugged as it is (hosts without
   * predictable names keep `eth<N>`). Ports read from a dump are never assumed provisional.
   * Default 5 s.
   */
  readonly renameSettleMs?: number;
  /** Called (synchronously, possibly often) whenever `run()` would now return true. */
  readonly onChange?: () => void;
}

const NO_OP_LOGGER: ProviderLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Message of devlink or the kernel when a device cannot set a function's hw_addr. */
const UNSUPPORTED_PATTERN = /not supported|unsupported|EOPNOTSUPP|doesn't support|does not support/i;

interface MacJob {
  readonly mac: string;
  state: 'running' | 'done' | 'unsupported' | 'failed';
  error?: string;
  attempts: number;
  retryAt?: number;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').trim();
}

export class RepresentorProvider implements PlugProvider {
  readonly type = REPRESENTOR_PROVIDER_TYPE;

  readonly #devlink: string;
  readonly #sysfsRoot: string;
  readonly #spawn: SpawnProcess;
  readonly #readFile: (path: string) => Promise<string>;
  readonly #logger: ProviderLogger;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #commandTimeoutMs: number;
  readonly #backoff: Required<BackoffOptions>;
  readonly #renameSettleMs: number;
  readonly #onChange: (() => void) | undefined;
  readonly #operstate: OperstateCache;

  #active = false;
  #ports = new Map<string, DevlinkPort>();
  #fallbackMacs = new Map<string, FallbackMac>();
  #fallbackReads = new Set<string>();
  #table: PortTable = buildPortTable([]);
  #signature = '';
  #changed = false;
  /** Port handle → time until which its provisional `eth<N>` name is expected to change. */
  #provisionalUntil = new Map<string, number>();
  #macJobs = new Map<string, MacJob>();
  #timersPending = new Set<unknown>();

  #monitor: SpawnedProcess | undefined;
  #monitorStartedAt = 0;
  #monitorRestarts = 0;
  #monitorAttempt = 0;
  #monitorNote: string | undefined;
  /** Dumps in flight; monitor events are queued while it is not zero. */
  #dumpsInFlight = 0;
  #queuedEvents: DevlinkPortEvent[] = [];

  constructor(options: RepresentorProviderOptions = {}) {
    this.#devlink = options.devlinkCommand ?? 'devlink';
    this.#sysfsRoot = options.sysfsRoot ?? '/sys';
    this.#spawn = options.spawn ?? spawnProcess;
    this.#readFile = options.readFile ?? ((path) => readFile(path, 'utf8'));
    this.#logger = options.logger ?? NO_OP_LOGGER;
    this.#timers = options.timers ?? globalTimers;
    this.#now = options.now ?? Date.now;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 10_000;
    this.#backoff = {
      initialMs: options.backoff?.initialMs ?? 500,
      maxMs: options.backoff?.maxMs ?? 30_000,
      stableAfterMs: options.backoff?.stableAfterMs ?? 10_000,
    };
    this.#renameSettleMs = options.renameSettleMs ?? 5_000;
    this.#onChange = options.onChange;
    this.#operstate = new OperstateCache(this.#sysfsRoot, this.#readFile);
  }

  /**
   * Starts the monitor and reads the port table.
   * @throws Error naming the command and its error when devlink cannot be used here.
   */
  async init(): Promise<void> {
    this.#active = true;
    this.#startMonitor();
    try {
      await this.#resync();
    } catch (error) {
      this.#stop();
      throw new Error(`devlink is not usable here: ${errorText(error)}`, { cause: error });
    }
    this.#logger.info(
      { ports: this.#ports.size, pfs: this.#table.pfs.length, orphans: this.#table.orphans.length },
      'representor provider: devlink port table loaded',
    );
  }

  destroy(): void {
    this.#stop();
  }

  run(): boolean {
    const changed = this.#changed;
    this.#changed = false;
    void this.#operstate.refresh().then((linkChanged) => {
      if (linkChanged) this.#markChanged();
    });
    return changed;
  }

  /** The representor netdev's operstate from sysfs (DESIGN §3.5 `Down`); undefined when unknown. */
  linkState(interfaceName: string): LinkObservation | undefined {
    return this.#operstate.get(interfaceName);
  }

  maintainedIfaceOptions(): readonly string[] {
    return [];
  }

  prepare(request: PlugRequest): PlugAnswer {
    if (request.operation === 'remove') {
      return { kind: 'ready', name: request.existing?.name ?? this.#lookupName(request), options: {} };
    }
    const selector = parseSelector(request.options);
    if ('kind' in selector) return selector;
    const match = lookupRepresentor(this.#table, selector, (port) => this.#isProvisional(port));
    if (match.kind === 'notNow') return match;
    if (request.mac !== undefined && match.function !== undefined) {
      // Never reprogram a function whose representor another port keeps (DESIGN §3.4).
      if (request.mayClaim?.(match.netdev) === false && match.port.hwAddr !== request.mac.toLowerCase())
        return notNow(
          'RepresentorInUse',
          `representor "${match.netdev}" is plugged for another logical port that stays; its MAC is not changed to "${request.mac}" while it does`,
        );
      const pending = this.#macGate(match, request.mac.toLowerCase());
      if (pending !== undefined) return pending;
    }
    return { kind: 'ready', name: match.netdev, options: {} };
  }

  inventory(): ProviderInventory {
    const items: InventoryItem[] = [];
    const notes: string[] = [];
    for (const pf of this.#table.pfs) {
      items.push(...this.#pfItems(pf));
      if (pf.mac === undefined)
        notes.push(`PF ${pf.id} (${pf.port.netdev ?? 'no netdev'}) has no MAC: ${pf.macProblem ?? ''}`);
    }
    for (const orphan of this.#table.orphans) {
      const port = orphan.port;
      const kind = orphan.flavour === 'pcivf' ? 'vf' : 'sf';
      const item: InventoryItem = {
        id: `${port.device}/c${port.controller ?? 0}/pf${port.pfnum ?? 0}/${kind}${orphan.number}`,
        details: {
          flavour: orphan.flavour,
          controller: port.controller ?? 0,
          pfNum: port.pfnum ?? 0,
          [kind === 'vf' ? 'vfNum' : 'sfNum']: orphan.number,
          devlinkPort: port.handle,
          usable: false,
        },
      };
      items.push(port.netdev === undefined ? item : { ...item, name: port.netdev });
    }
    if (this.#table.orphans.length > 0) {
      notes.push(
        `${this.#table.orphans.length} VF/SF ports have no host PF (pcipf) port, so no PF MAC can select them: ` +
          'a host-side switchdev NIC (ovn-org/ovn#169); the representor provider is meant for the DPU/SmartNIC side',
      );
    }
    if (this.#table.pfs.length === 0 && this.#table.orphans.length === 0) {
      notes.push(`devlink shows no host PF, VF or SF ports (${this.#table.portCount} ports in total)`);
    }
    for (const [handle, job] of this.#macJobs) {
      if (job.state === 'unsupported')
        notes.push(`devlink port ${handle} cannot program MAC addresses: ${job.error ?? ''}`);
    }
    if (this.#monitorNote !== undefined) notes.push(this.#monitorNote);
    return { items, notes };
  }

  /**
   * The PF first (full identity), then its VFs and SFs with what tells them apart: their number,
   * the PF MAC and controller to select them by, and their function's hw_addr when set.
   */
  #pfItems(pf: HostPf): InventoryItem[] {
    const items: InventoryItem[] = [];
    const add = (id: string, port: DevlinkPort, details: Record<string, string | number | boolean>): void => {
      const full: Record<string, string | number | boolean> = { ...details, devlinkPort: port.handle };
      if (port.netdev === undefined || this.#isProvisional(port)) full['renameInProgress'] = true;
      items.push(
        port.netdev === undefined ? { id, details: full } : { id, name: port.netdev, details: full },
      );
    };
    add(pf.id, pf.port, {
      flavour: 'pcipf',
      pfMac: pf.mac ?? '',
      macSource: pf.macSource,
      controller: pf.controller,
      pfNum: pf.pfnum,
      device: pf.device,
      external: pf.port.external ?? false,
    });
    const functionDetails = (fn: FunctionPort): Record<string, string | number | boolean> => {
      const details: Record<string, string | number | boolean> = {
        flavour: fn.flavour,
        pfMac: pf.mac ?? '',
        controller: pf.controller,
        [fn.flavour === 'pcivf' ? 'vfNum' : 'sfNum']: fn.number,
      };
      if (fn.port.hwAddr !== undefined && !/^(?:00:)+00$/.test(fn.port.hwAddr))
        details['hwAddr'] = fn.port.hwAddr;
      return details;
    };
    for (const vf of [...pf.vfs.values()].sort((a, b) => a.number - b.number))
      add(`${pf.id}/vf${vf.number}`, vf.port, functionDetails(vf));
    for (const sf of [...pf.sfs.values()].sort((a, b) => a.number - b.number))
      add(`${pf.id}/sf${sf.number}`, sf.port, functionDetails(sf));
    return items;
  }

  #lookupName(request: PlugRequest): string {
    const selector = parseSelector(request.options);
    if ('kind' in selector) return request.logicalPort;
    const match = lookupRepresentor(this.#table, selector);
    return match.kind === 'found' ? match.netdev : request.logicalPort;
  }

  #isProvisional(port: DevlinkPort): boolean {
    if (port.netdev === undefined || !PROVISIONAL_NETDEV_NAME.test(port.netdev)) return false;
    return (this.#provisionalUntil.get(port.handle) ?? 0) > this.#now();
  }

  // ---- MAC programming -------------------------------------------------------------------

  #macGate(match: RepresentorMatch, mac: string): NotNow | undefined {
    const port = match.port;
    const what = `${match.function?.flavour === 'pcisf' ? 'SF' : 'VF'} ${match.function?.number ?? ''} (devlink port ${port.handle})`;
    if (port.hwAddr === mac) return undefined;
    const job = this.#macJobs.get(port.handle);
    if (job !== undefined && job.mac === mac) {
      if (job.state === 'unsupported') return undefined;
      if (job.state === 'running') return notNow('ProgrammingMac', `programming MAC "${mac}" on ${what}`);
      if (job.state === 'failed' && (job.retryAt ?? 0) > this.#now()) {
        const seconds = Math.ceil(((job.retryAt ?? 0) - this.#now()) / 1000);
        return notNow(
          'MacProgrammingFailed',
          `setting MAC "${mac}" on ${what} failed: ${job.error ?? 'unknown error'} (retrying in ${seconds} s)`,
        );
      }
    }
    this.#programMac(port, mac, job?.mac === mac ? job.attempts : 0);
    return notNow('ProgrammingMac', `programming MAC "${mac}" on ${what}`);
  }

  #programMac(port: DevlinkPort, mac: string, previousAttempts: number): void {
    const job: MacJob = { mac, state: 'running', attempts: previousAttempts + 1 };
    this.#macJobs.set(port.handle, job);
    const args = ['port', 'function', 'set', port.handle, 'hw_addr', mac];
    const text = formatCommand(this.#devlink, args);
    void runCommand(this.#devlink, args, this.#commandOptions())
      .then((result) => {
        if (result.code === 0) return undefined;
        return lastLine(result.stderr) || `exit status ${result.code ?? result.signal ?? 'unknown'}`;
      })
      .catch((error: unknown) => errorText(error))
      .then((failure) => {
        if (this.#macJobs.get(port.handle) !== job) return;
        if (failure === undefined) {
          job.state = 'done';
          const current = this.#ports.get(port.handle);
          if (current !== undefined) this.#ports.set(port.handle, { ...current, hwAddr: mac });
          this.#logger.info({ devlinkPort: port.handle, mac }, 'representor provider: programmed MAC');
        } else if (UNSUPPORTED_PATTERN.test(failure)) {
          job.state = 'unsupported';
          job.error = failure;
          this.#logger.warn(
            { devlinkPort: port.handle, mac, error: failure },
            'representor provider: device cannot program the MAC; plugging without it',
          );
        } else {
          job.state = 'failed';
          job.error = `"${text}": ${failure}`;
          const delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** (job.attempts - 1));
          job.retryAt = this.#now() + delay;
          this.#after(delay, () => this.#markChanged());
          this.#logger.warn(
            { devlinkPort: port.handle, mac, error: failure },
            'representor provider: programming MAC failed',
          );
        }
        return this.#rebuild(true);
      });
  }

  // ---- table maintenance -----------------------------------------------------------------

  #commandOptions(): { spawn: SpawnProcess; timers: Timers; timeoutMs: number } {
    return { spawn: this.#spawn, timers: this.#timers, timeoutMs: this.#commandTimeoutMs };
  }

  /** Reads the complete table, then replays the monitor events that arrived meanwhile. */
  async #resync(): Promise<void> {
    // Events queued before this dump (e.g. during a dump that failed) are superseded by it.
    if (this.#dumpsInFlight === 0) this.#queuedEvents = [];
    this.#dumpsInFlight += 1;
    try {
      const args = ['-j', 'port', 'show'];
      const result = await runCommand(this.#devlink, args, this.#commandOptions());
      if (result.code !== 0) {
        const detail = lastLine(result.stderr) || lastLine(result.stdout) || 'no output';
        throw new CommandError(
          `"${formatCommand(this.#devlink, args)}" exited with ${result.code ?? result.signal ?? 'unknown'}: ${detail}`,
          undefined,
        );
      }
      const dump = parsePortShowOutput(result.stdout);
      for (const problem of dump.problems)
        this.#logger.warn({ problem }, 'representor provider: skipped a devlink port');
      this.#ports = new Map(dump.ports.map((port) => [port.handle, port]));
      this.#provisionalUntil.clear();
      this.#fallbackMacs.clear();
    } finally {
      this.#dumpsInFlight -= 1;
    }
    if (this.#dumpsInFlight > 0) return;
    const queued = this.#queuedEvents;
    this.#queuedEvents = [];
    for (const event of queued) this.#applyEvent(event);
    await this.#rebuild(false);
  }

  #applyEvent(event: DevlinkPortEvent): void {
    const port = event.port;
    const previous = this.#ports.get(port.handle);
    if (event.command === 'del') {
      this.#ports.delete(port.handle);
      this.#provisionalUntil.delete(port.handle);
    } else {
      this.#ports.set(port.handle, port);
      if (port.netdev !== undefined && PROVISIONAL_NETDEV_NAME.test(port.netdev)) {
        if (previous?.netdev !== port.netdev) {
          this.#provisionalUntil.set(port.handle, this.#now() + this.#renameSettleMs);
          this.#after(this.#renameSettleMs, () => this.#markChanged());
        }
      } else {
        this.#provisionalUntil.delete(port.handle);
      }
    }
    if (port.flavour === 'pcipf') {
      for (const { uplink } of pfsNeedingFallbackMac([...this.#ports.values()])) {
        if (uplink !== undefined) this.#fallbackMacs.delete(uplink);
      }
    }
    this.#logger.debug(
      { command: event.command, devlinkPort: port.handle, netdev: port.netdev },
      'representor provider: devlink port event',
    );
  }

  /**
   * Rebuilds the table; marks a change when it differs (or when `force`d by a MAC job). The
   * returned promise settles when the sysfs reads it started have been applied too.
   */
  #rebuild(force: boolean): Promise<void> {
    const ports = [...this.#ports.values()].sort((a, b) => a.handle.localeCompare(b.handle));
    const fallbackReads = this.#readMissingFallbackMacs(ports);
    this.#table = buildPortTable(ports, this.#fallbackMacs);
    const signature = JSON.stringify([ports, [...this.#fallbackMacs.entries()].sort()]);
    for (const handle of this.#macJobs.keys()) {
      if (!this.#ports.has(handle)) this.#macJobs.delete(handle);
    }
    if (force || signature !== this.#signature) {
      this.#signature = signature;
      this.#markChanged();
    }
    return fallbackReads;
  }

  async #readMissingFallbackMacs(ports: readonly DevlinkPort[]): Promise<void> {
    const reads: Promise<void>[] = [];
    for (const { uplink } of pfsNeedingFallbackMac(ports)) {
      if (uplink === undefined || this.#fallbackMacs.has(uplink) || this.#fallbackReads.has(uplink)) continue;
      const path = smartNicPfConfigPath(this.#sysfsRoot, uplink);
      this.#fallbackReads.add(uplink);
      const read = this.#readFile(path)
        .then((text): FallbackMac => {
          const mac = parseSmartNicPfConfig(text);
          return mac === undefined ? { problem: `${path} names no MAC` } : { mac };
        })
        .catch((error: unknown): FallbackMac => ({
          problem: `${path} is not readable (${errorText(error)})`,
        }))
        .then((fallback) => {
          this.#fallbackReads.delete(uplink);
          if (!this.#active) return;
          this.#fallbackMacs.set(uplink, fallback);
          if ('problem' in fallback) {
            this.#logger.warn(
              { uplink, problem: fallback.problem },
              'representor provider: no PF MAC from sysfs',
            );
          }
          return this.#rebuild(false);
        });
      reads.push(read);
    }
    await Promise.all(reads);
  }

  #markChanged(): void {
    if (!this.#active) return;
    this.#changed = true;
    this.#onChange?.();
  }

  #after(ms: number, callback: () => void): void {
    const handle = this.#timers.setTimeout(() => {
      this.#timersPending.delete(handle);
      callback();
    }, ms);
    this.#timersPending.add(handle);
  }

  // ---- monitor child ---------------------------------------------------------------------

  #startMonitor(): void {
    const args = ['-j', 'monitor', 'port'];
    let child: SpawnedProcess;
    try {
      child = this.#spawn(this.#devlink, args);
    } catch (error) {
      this.#onMonitorExit(undefined, `cannot start: ${errorText(error)}`);
      return;
    }
    this.#monitor = child;
    this.#monitorStartedAt = this.#now();
    const parser = new DevlinkMonitorParser();
    let stderrTail = '';
    let failure: string | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const { events, problems } = parser.push(chunk);
      for (const problem of problems)
        this.#logger.warn({ problem }, 'representor provider: bad devlink monitor output');
      if (events.length === 0 || this.#monitor !== child) return;
      if (this.#dumpsInFlight > 0) {
        this.#queuedEvents.push(...events);
        return;
      }
      for (const event of events) this.#applyEvent(event);
      void this.#rebuild(false);
    });
    child.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-500);
    });
    child.on('error', (error) => {
      failure = error.message;
    });
    child.on('close', (code, signal) => {
      const detail =
        failure ??
        `exited with ${code ?? signal ?? 'unknown'}${stderrTail ? `: ${lastLine(stderrTail)}` : ''}`;
      this.#onMonitorExit(child, detail);
    });
  }

  #onMonitorExit(child: SpawnedProcess | undefined, detail: string): void {
    if (child !== undefined && this.#monitor !== child) return;
    this.#monitor = undefined;
    if (!this.#active) return;
    const ranMs = this.#now() - this.#monitorStartedAt;
    if (child !== undefined && ranMs >= this.#backoff.stableAfterMs) this.#monitorAttempt = 0;
    const delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** this.#monitorAttempt);
    this.#monitorAttempt += 1;
    this.#monitorNote = `devlink monitor stopped (${detail}); restarting in ${delay} ms (restart ${this.#monitorRestarts + 1})`;
    this.#logger.warn(
      { detail, delayMs: delay },
      'representor provider: devlink monitor stopped, restarting',
    );
    this.#after(delay, () => {
      if (!this.#active) return;
      this.#monitorRestarts += 1;
      this.#monitorNote = undefined;
      this.#startMonitor();
      this.#resync().catch((error: unknown) => {
        this.#logger.warn({ error: errorText(error) }, 'representor provider: devlink port dump failed');
        // Let the monitor's exit drive the next attempt, with backoff.
        this.#monitor?.kill('SIGTERM');
      });
    });
  }

  /** Restarts of the monitor child so far (for tests and metrics). */
  get monitorRestarts(): number {
    return this.#monitorRestarts;
  }

  #stop(): void {
    this.#active = false;
    const monitor = this.#monitor;
    this.#monitor = undefined;
    monitor?.kill('SIGTERM');
    for (const handle of this.#timersPending) this.#timers.clearTimeout(handle);
    this.#timersPending.clear();
  }
}

/** Creates the `representor` provider (see {@link RepresentorProvider}). */
export function createRepresentorProvider(options: RepresentorProviderOptions = {}): RepresentorProvider {
  return new RepresentorProvider(options);
}
