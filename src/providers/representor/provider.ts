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
 * Port-function configuration (ADRs 0050, 0054): before a VF/SF is plugged, `hw_addr` (the
 * port's MAC), `roce`/`migratable` (when asked) and `state active` (SFs it created) are set one
 * by one with `devlink port function set`, in the background, answering not-now meanwhile; the
 * table change then triggers a replan. What devlink reports afterwards is checked: a different
 * value is a failed not-now (`Failed`); an attribute the device or devlink cannot set is a
 * warning on the ready answer; other failures stay Pending and are retried with backoff.
 *
 * Scalable functions (ADR 0056): with `sf-add`, a missing SF is recorded (OVS DB, through the
 * injected store) and then created with `devlink port add`; it is deleted on unplug only when
 * recorded as ours.
 *
 * Userspace datapaths (ADR 0053): on a `netdev` integration bridge (or when forced by the
 * `datapath` setting) the answer is a `type=dpdk` port named after the representor netdev, with
 * `dpdk-devargs` in the upstream OVS-DPDK form and without in the OVS-DOCA form (see `dpdk.ts`).
 * `dpdk-devargs` is a maintained option, so switching the bridge back to the kernel datapath
 * removes it again.
 */
import { readFile } from 'node:fs/promises';
import type {
  InventoryItem,
  LinkObservation,
  PlugAnswer,
  PlugProvider,
  PlugReady,
  PlugRequest,
  ProviderInventory,
  ProviderLogger,
  ProviderWarning,
  NotNow,
} from '../../plug/index.js';
import type { DevlinkPort, DevlinkPortEvent } from './devlink-json.js';
import { DevlinkMonitorParser, parsePortShowOutput } from './devlink-json.js';
import type { FallbackMac, FunctionPort, HostPf, PortTable } from './port-table.js';
import { PROVISIONAL_NETDEV_NAME, buildPortTable, pfsNeedingFallbackMac } from './port-table.js';
import type { RepresentorMatch } from './lookup.js';
import { describePf, lookupRepresentor, notNow, parseSelector } from './lookup.js';
import type { SfIntentStore, SfRecord } from './scalable-functions.js';
import { sfAddArgs, sfId, wantsSfAdd } from './scalable-functions.js';
import { parseSmartNicPfConfig, smartNicPfConfigPath } from './sysfs.js';
import { OperstateCache } from './operstate.js';
import { noopLogger, type Timer, type Timers } from '../../plug/index.js';
import type { SpawnProcess, SpawnedProcess } from './process.js';
import { CommandError, formatCommand, globalTimers, runCommand, spawnProcess } from './process.js';
import type { PortFunctionAttribute, PortFunctionSetting } from './port-function.js';
import { UNSUPPORTED_PATTERN, portFunctionSettings, reportedValue, withValue } from './port-function.js';
import type { DpdkRepresentorSyntax, RepresentorDatapathMode, RepresentorDatapathSetting } from './dpdk.js';
import { DPDK_DEVARGS_OPTION, DPDK_INTERFACE_TYPE, datapathMode, dpdkDevargs, pciAddressOf } from './dpdk.js';

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
  /** Answer form (`--representor-datapath`). Default `auto`: follow the bridge's datapath_type. */
  readonly datapath?: RepresentorDatapathSetting;
  /** DPDK representor syntax for upstream OVS-DPDK devargs. Default `exclusive`. */
  readonly dpdkRepresentorSyntax?: DpdkRepresentorSyntax;
  /** Durable records of the SFs this provider creates; without it, `sf-add` is refused. */
  readonly sfIntents?: SfIntentStore;
  /**
   * A recorded SF whose logical port has not been asked about (plug or unplug) for this long,
   * while other ports were, is deleted (and its record dropped). Default 120 s.
   */
  readonly sfCleanupGraceMs?: number;
}

/** A `devlink port add` (with its record) or `port del` (with its deactivation) in progress. */
interface SfJob {
  readonly kind: 'add' | 'delete';
  readonly logicalPort: string;
  /** `added`: devlink port add succeeded, the port is not in the table yet. */
  state: 'running' | 'added' | 'failed';
  addedAt?: number;
  resynced?: boolean;
  error?: string;
  attempts: number;
  retryAt?: number;
}

/**
 * One `devlink port function set` of one attribute. `done` means devlink exited 0; `readBack` is
 * what devlink reported for the attribute afterwards (monitor event or dump), once it did.
 */
interface FunctionJob {
  readonly setting: PortFunctionSetting;
  state: 'running' | 'done' | 'unsupported' | 'failed';
  error?: string;
  attempts: number;
  retryAt?: number;
  readBack?: string;
  /** Sets of this value in a row whose read-back differed. */
  mismatches: number;
}

/** Sets in a row whose read-back differed before the port is `Failed` with the mismatch. */
const MISMATCH_LIMIT = 3;

function jobKey(handle: string, attribute: PortFunctionAttribute): string {
  return `${handle}\u0000${attribute}`;
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
  readonly #datapath: RepresentorDatapathSetting;
  readonly #dpdkSyntax: DpdkRepresentorSyntax;
  readonly #sfIntents: SfIntentStore | undefined;
  readonly #sfCleanupGraceMs: number;
  /** SF jobs by SF id. */
  #sfJobs = new Map<string, SfJob>();
  /** Logical port → when prepare() was last asked to plug / unplug it. */
  #createSeenAt = new Map<string, number>();
  #removeSeenAt = new Map<string, number>();
  #lastPrepareAt = 0;
  #lastPruneAt = 0;
  /** The form of the latest create answer, for the inventory. */
  #lastMode: RepresentorDatapathMode | undefined;
  readonly #operstate: OperstateCache;

  #active = false;
  #activeSince = 0;
  #ports = new Map<string, DevlinkPort>();
  #fallbackMacs = new Map<string, FallbackMac>();
  #fallbackReads = new Set<string>();
  #table: PortTable = buildPortTable([]);
  #signature = '';
  #changed = false;
  /** Port handle → time until which its provisional `eth<N>` name is expected to change. */
  #provisionalUntil = new Map<string, number>();
  /** Port-function jobs by `jobKey(handle, attribute)`. */
  #functionJobs = new Map<string, FunctionJob>();
  #timersPending = new Set<Timer>();

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
    this.#logger = options.logger ?? noopLogger;
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
    this.#datapath = options.datapath ?? 'auto';
    this.#dpdkSyntax = options.dpdkRepresentorSyntax ?? 'exclusive';
    this.#sfIntents = options.sfIntents;
    this.#sfCleanupGraceMs = options.sfCleanupGraceMs ?? 120_000;
    this.#operstate = new OperstateCache(this.#sysfsRoot, this.#readFile);
  }

  /**
   * Starts the monitor and reads the port table.
   * @throws Error naming the command and its error when devlink cannot be used here.
   */
  async init(): Promise<void> {
    this.#active = true;
    this.#activeSince = this.#now();
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
    this.#sweepSfRecords();
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
    return [DPDK_DEVARGS_OPTION];
  }

  prepare(request: PlugRequest): PlugAnswer {
    const now = this.#now();
    this.#lastPrepareAt = now;
    (request.operation === 'remove' ? this.#removeSeenAt : this.#createSeenAt).set(request.logicalPort, now);
    if (request.operation === 'remove') {
      return { kind: 'ready', name: request.existing?.name ?? this.#lookupName(request), options: {} };
    }
    const selector = parseSelector(request.options);
    if ('kind' in selector) return selector;
    const sfAdd = selector.sfNum !== undefined && wantsSfAdd(request.options);
    if (sfAdd) {
      const gate = this.#sfAddGate(request.logicalPort, selector.pfMac, selector.sfNum ?? 0);
      if (gate !== undefined) return gate;
    }
    const match = lookupRepresentor(this.#table, selector, (port) => this.#isProvisional(port));
    if (match.kind === 'notNow') return match;
    const warnings: ProviderWarning[] = [];
    if (match.function !== undefined) {
      // Never reprogram a function whose representor another port keeps (DESIGN §3.4).
      if (
        request.mac !== undefined &&
        request.mayClaim?.(match.netdev) === false &&
        match.port.hwAddr !== request.mac.toLowerCase()
      )
        return notNow(
          'RepresentorInUse',
          `representor "${match.netdev}" is plugged for another logical port that stays; its MAC is not changed to "${request.mac}" while it does`,
        );
      const settings = portFunctionSettings(request.options, request.mac);
      if ('kind' in settings) return settings;
      // An SF the agent creates is activated once configured (hw_addr must be set before).
      const all = sfAdd ? [...settings, { attribute: 'state' as const, value: 'active' }] : settings;
      for (const setting of all) {
        const gate = this.#functionGate(match, setting);
        if (gate === undefined) continue;
        if ('kind' in gate) return gate;
        warnings.push(gate);
      }
    }
    const answer = this.#answerFor(request, match);
    return answer.kind === 'ready' && warnings.length > 0 ? { ...answer, warnings } : answer;
  }

  /** The answer in the form the integration bridge's datapath needs (ADR 0053). */
  #answerFor(request: PlugRequest, match: RepresentorMatch): PlugAnswer {
    const mode = datapathMode(this.#datapath, request.bridge?.datapathType, request.bridge?.ovsOtherConfig);
    this.#lastMode = mode;
    if (mode === 'system') return { kind: 'ready', name: match.netdev, options: {} };
    if (mode === 'doca') return { kind: 'ready', name: match.netdev, type: DPDK_INTERFACE_TYPE, options: {} };
    const devargs = dpdkDevargs(match.port, this.#dpdkSyntax);
    if (typeof devargs !== 'string') {
      return notNow(
        'NoDpdkDevargs',
        `cannot plug ${match.netdev} into a userspace (netdev) bridge: ${devargs.problem}`,
      );
    }
    return {
      kind: 'ready',
      name: match.netdev,
      type: DPDK_INTERFACE_TYPE,
      options: { [DPDK_DEVARGS_OPTION]: devargs },
    };
  }

  /**
   * After an unplug committed: deletes the SFs this provider created for that logical port whose
   * representor is the interface that went. A replug (the representor renamed) removes an old
   * name while the SF stays in use, so an SF whose representor has another name is kept.
   */
  finish(request: PlugRequest, answer: PlugReady): void {
    if (request.operation !== 'remove' || this.#sfIntents === undefined) return;
    for (const record of this.#sfIntents.list()) {
      if (record.logicalPort !== request.logicalPort) continue;
      const netdev = this.#sfPort(record.id)?.netdev;
      if (netdev === undefined || netdev === answer.name) this.#deleteSf(record);
    }
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
    for (const [key, job] of this.#functionJobs) {
      if (job.state !== 'unsupported') continue;
      const handle = key.slice(0, key.indexOf('\u0000'));
      notes.push(
        job.setting.attribute === 'hw_addr'
          ? `devlink port ${handle} cannot program MAC addresses: ${job.error ?? ''}`
          : `devlink port ${handle} cannot set ${job.setting.attribute}: ${job.error ?? ''}`,
      );
    }
    if (this.#monitorNote !== undefined) notes.push(this.#monitorNote);
    for (const record of this.#sfIntents?.list() ?? []) {
      if (this.#sfPort(record.id) !== undefined) continue;
      const job = this.#sfJobs.get(record.id);
      notes.push(
        `SF ${record.id} is recorded for ${record.logicalPort} but devlink shows no such port` +
          (job === undefined
            ? ''
            : ` (${job.kind} ${job.state}${job.error === undefined ? '' : `: ${job.error}`})`),
      );
    }
    if (this.#lastMode === 'dpdk' || this.#lastMode === 'doca') {
      notes.push(
        this.#lastMode === 'dpdk'
          ? 'userspace datapath: representors are plugged as type=dpdk with dpdk-devargs (upstream OVS-DPDK)'
          : 'userspace datapath: representors are plugged as type=dpdk by netdev name (OVS-DOCA, doca-init)',
      );
    }
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
      if (this.#lastMode === 'dpdk') {
        const devargs = dpdkDevargs(port, this.#dpdkSyntax);
        if (typeof devargs === 'string') full['dpdkDevargs'] = devargs;
      }
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
      if (fn.flavour === 'pcisf') {
        if (fn.port.functionState !== undefined) details['state'] = fn.port.functionState;
        if (fn.port.functionOpstate !== undefined) details['opstate'] = fn.port.functionOpstate;
        const record = this.#sfIntents?.list().find((r) => r.id === sfId(pf, fn.number));
        if (record !== undefined) details['createdFor'] = record.logicalPort;
      }
      return details;
    };
    for (const vf of [...pf.vfs.values()].sort((a, b) => a.number - b.number))
      add(`${pf.id}/vf${vf.number}`, vf.port, functionDetails(vf));
    for (const sf of [...pf.sfs.values()].sort((a, b) => a.number - b.number))
      add(`${pf.id}/sf${sf.number}`, sf.port, functionDetails(sf));
    return items;
  }

  /**
   * PCI addresses of the devlink devices that look like a DPU's eswitch: they carry ports of an
   * external host (`external`, or a controller other than 0). A host-side switchdev NIC has none.
   */
  dpuPciAddresses(): string[] {
    const addresses = new Set<string>();
    for (const port of this.#ports.values()) {
      if (port.external !== true && (port.controller ?? 0) === 0) continue;
      const address = pciAddressOf(port.device);
      if (address !== undefined) addresses.add(address);
    }
    return [...addresses].sort();
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

  /**
   * Whether one attribute is as the port asks: undefined when it is (or cannot be, see warnings),
   * a not-now while it is being set or after a failure, a failed not-now when the device reports
   * a different value after it was set, a warning when the device or devlink cannot set it.
   */
  #functionGate(match: RepresentorMatch, setting: PortFunctionSetting): NotNow | ProviderWarning | undefined {
    const port = match.port;
    const { attribute, value } = setting;
    const isMac = attribute === 'hw_addr';
    const what = `${match.function?.flavour === 'pcisf' ? 'SF' : 'VF'} ${match.function?.number ?? ''} (devlink port ${port.handle})`;
    const reported = reportedValue(port, attribute);
    const key = jobKey(port.handle, attribute);
    const job = this.#functionJobs.get(key);
    if (reported === value) {
      if (job !== undefined) job.mismatches = 0;
      return undefined;
    }
    if (job !== undefined && job.setting.value === value) {
      if (job.state === 'unsupported') {
        return {
          code: 'PortFunctionUnsupported',
          message: `${what}: cannot set ${attribute} ${value}: ${job.error ?? 'not supported'}`,
        };
      }
      if (job.state === 'running') return this.#configuring(what, setting);
      if (job.state === 'done') {
        if (job.readBack === undefined) return undefined;
        // Set again at once (level-triggered) before calling it a mismatch: a notification about
        // an earlier value can arrive after the set, or someone may have changed the function.
        if (job.mismatches + 1 < MISMATCH_LIMIT) {
          this.#setFunction(port, setting, job.attempts, job.mismatches + 1);
          return this.#configuring(what, setting);
        }
        return {
          kind: 'notNow',
          code: 'PortFunctionMismatch',
          failed: true,
          reason: `${what} reports ${attribute} "${reported ?? 'nothing'}" after it was set to "${value}"`,
        };
      }
      if ((job.retryAt ?? 0) > this.#now()) {
        const seconds = Math.ceil(((job.retryAt ?? 0) - this.#now()) / 1000);
        const failure = `${job.error ?? 'unknown error'} (retrying in ${seconds} s)`;
        return isMac
          ? notNow('MacProgrammingFailed', `setting MAC "${value}" on ${what} failed: ${failure}`)
          : notNow('PortFunctionFailed', `setting ${attribute} ${value} on ${what} failed: ${failure}`);
      }
    }
    const same = job?.setting.value === value;
    this.#setFunction(port, setting, same ? job.attempts : 0, same ? job.mismatches : 0);
    return this.#configuring(what, setting);
  }

  #configuring(what: string, setting: PortFunctionSetting): NotNow {
    return setting.attribute === 'hw_addr'
      ? notNow('ProgrammingMac', `programming MAC "${setting.value}" on ${what}`)
      : notNow('ConfiguringPortFunction', `setting ${setting.attribute} ${setting.value} on ${what}`);
  }

  #setFunction(
    port: DevlinkPort,
    setting: PortFunctionSetting,
    previousAttempts: number,
    mismatches = 0,
  ): void {
    const key = jobKey(port.handle, setting.attribute);
    const job: FunctionJob = { setting, state: 'running', attempts: previousAttempts + 1, mismatches };
    this.#functionJobs.set(key, job);
    const args = ['port', 'function', 'set', port.handle, setting.attribute, setting.value];
    const text = formatCommand(this.#devlink, args);
    const fields = { devlinkPort: port.handle, attribute: setting.attribute, value: setting.value };
    void runCommand(this.#devlink, args, this.#commandOptions())
      .then((result) => {
        if (result.code === 0) return undefined;
        return lastLine(result.stderr) || `exit status ${result.code ?? result.signal ?? 'unknown'}`;
      })
      .catch((error: unknown) => errorText(error))
      .then((failure) => {
        if (this.#functionJobs.get(key) !== job) return;
        if (failure === undefined) {
          job.state = 'done';
          // devlink exited 0: the value is set. What the device reports comes with the kernel's
          // notification (monitor) or the next dump, and is checked then (readBack).
          const current = this.#ports.get(port.handle);
          if (current !== undefined) this.#ports.set(port.handle, withValue(current, setting));
          this.#logger.info(fields, 'representor provider: port function set');
        } else if (UNSUPPORTED_PATTERN.test(failure)) {
          job.state = 'unsupported';
          job.error = failure;
          this.#logger.warn(
            { ...fields, error: failure },
            setting.attribute === 'hw_addr'
              ? 'representor provider: device cannot program the MAC; plugging without it'
              : 'representor provider: port function attribute not supported; plugging without it',
          );
        } else {
          job.state = 'failed';
          job.error = `"${text}": ${failure}`;
          const delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** (job.attempts - 1));
          job.retryAt = this.#now() + delay;
          this.#after(delay, () => this.#markChanged());
          this.#logger.warn(
            { ...fields, error: failure },
            'representor provider: setting a port function failed',
          );
        }
        return this.#rebuild(true);
      });
  }

  /** Records what devlink now reports for attributes this provider set on `port`. */
  #readBack(port: DevlinkPort): void {
    for (const attribute of ['hw_addr', 'roce', 'migratable', 'state'] as const) {
      const job = this.#functionJobs.get(jobKey(port.handle, attribute));
      if (job?.state === 'done' && job.readBack === undefined)
        job.readBack = reportedValue(port, attribute) ?? '';
    }
  }

  // ---- scalable functions (ADR 0056) ----------------------------------------------------------

  /** The SF representor port of an SF id, when devlink shows it. */
  #sfPort(id: string): DevlinkPort | undefined {
    for (const pf of this.#table.pfs) {
      for (const sf of pf.sfs.values()) if (sfId(pf, sf.number) === id) return sf.port;
    }
    return undefined;
  }

  /** Undefined when the SF exists (or the PF is unknown: the lookup explains); else why not yet. */
  #sfAddGate(logicalPort: string, pfMac: string, sfNum: number): NotNow | undefined {
    const pf = this.#table.pfsByMac.get(pfMac)?.[0];
    if (pf === undefined) return undefined;
    const id = sfId(pf, sfNum);
    const what = `SF ${sfNum} under PF ${describePf(pf)}`;
    const record = this.#sfIntents?.list().find((r) => r.id === id);
    if (record !== undefined && record.logicalPort !== logicalPort) {
      return notNow('SfOwnedByOtherPort', `${what} was created for logical port "${record.logicalPort}"`);
    }
    const job = this.#sfJobs.get(id);
    if (job?.kind === 'delete' && job.state === 'running') return notNow('DeletingSf', `deleting ${what}`);
    if (pf.sfs.has(sfNum)) {
      if (job?.kind === 'add') this.#sfJobs.delete(id);
      return undefined;
    }
    if (this.#sfIntents === undefined) {
      return notNow(
        'SfAddUnavailable',
        `${what} does not exist, and this agent cannot record SFs it creates`,
      );
    }
    if (job?.state === 'added') {
      // devlink exited 0; the kernel's announcement is on its way. Should it never arrive, a dump.
      if (!job.resynced && this.#now() - (job.addedAt ?? 0) > 5_000) {
        job.resynced = true;
        this.#resync().catch((error: unknown) =>
          this.#logger.warn({ error: errorText(error) }, 'representor provider: devlink port dump failed'),
        );
      }
      return notNow('CreatingSf', `created ${what}; waiting for devlink to report it`);
    }
    if (job?.state === 'running') {
      return notNow(
        job.kind === 'add' ? 'CreatingSf' : 'DeletingSf',
        `${job.kind === 'add' ? 'creating' : 'deleting'} ${what}`,
      );
    }
    if (job?.state === 'failed' && (job.retryAt ?? 0) > this.#now()) {
      const seconds = Math.ceil(((job.retryAt ?? 0) - this.#now()) / 1000);
      return notNow(
        'SfCreationFailed',
        `creating ${what} failed: ${job.error ?? ''} (retrying in ${seconds} s)`,
      );
    }
    this.#addSf(pf, sfNum, logicalPort, job?.kind === 'add' ? job.attempts : 0);
    return notNow('CreatingSf', `creating ${what}`);
  }

  #addSf(pf: HostPf, sfNum: number, logicalPort: string, previousAttempts: number): void {
    const store = this.#sfIntents;
    if (store === undefined) return;
    const id = sfId(pf, sfNum);
    const job: SfJob = { kind: 'add', logicalPort, state: 'running', attempts: previousAttempts + 1 };
    this.#sfJobs.set(id, job);
    const args = sfAddArgs(pf, sfNum);
    void (async (): Promise<string | undefined> => {
      // The record is committed before the SF exists: a crash in between leaves a record, which
      // the sweep resolves, and never an SF that no record names.
      await store.record({ id, logicalPort });
      const result = await runCommand(this.#devlink, args, this.#commandOptions());
      if (result.code === 0) return undefined;
      return `"${formatCommand(this.#devlink, args)}": ${lastLine(result.stderr) || `exit status ${result.code ?? result.signal ?? 'unknown'}`}`;
    })()
      .catch((error: unknown) => errorText(error))
      .then((failure) => {
        if (this.#sfJobs.get(id) !== job) return;
        if (failure === undefined) {
          // The kernel announces the new port on the monitor; the table change replans.
          job.state = 'added';
          job.addedAt = this.#now();
          this.#after(5_500, () => this.#markChanged());
          this.#logger.info({ sf: id, logicalPort }, 'representor provider: SF created');
        } else {
          this.#failSfJob(job, failure);
          this.#logger.warn(
            { sf: id, logicalPort, error: failure },
            'representor provider: creating an SF failed',
          );
        }
        this.#markChanged();
      });
  }

  /** Deactivates and deletes a recorded SF, then drops its record. Never for unrecorded SFs. */
  #deleteSf(record: SfRecord): void {
    const store = this.#sfIntents;
    if (store === undefined || this.#sfJobs.get(record.id)?.state === 'running') return;
    const previous = this.#sfJobs.get(record.id);
    const job: SfJob = {
      kind: 'delete',
      logicalPort: record.logicalPort,
      state: 'running',
      attempts: (previous?.kind === 'delete' ? previous.attempts : 0) + 1,
    };
    this.#sfJobs.set(record.id, job);
    const port = this.#sfPort(record.id);
    void (async (): Promise<string | undefined> => {
      if (port !== undefined) {
        const deactivate = ['port', 'function', 'set', port.handle, 'state', 'inactive'];
        const inactive = await runCommand(this.#devlink, deactivate, this.#commandOptions());
        if (inactive.code !== 0)
          this.#logger.warn(
            { sf: record.id, error: lastLine(inactive.stderr) },
            'representor provider: deactivating an SF failed; deleting it anyway',
          );
        const del = ['port', 'del', port.handle];
        const result = await runCommand(this.#devlink, del, this.#commandOptions());
        if (result.code !== 0)
          return `"${formatCommand(this.#devlink, del)}": ${lastLine(result.stderr) || `exit status ${result.code ?? result.signal ?? 'unknown'}`}`;
      }
      await store.forget(record.id);
      return undefined;
    })()
      .catch((error: unknown) => errorText(error))
      .then((failure) => {
        if (this.#sfJobs.get(record.id) !== job) return;
        if (failure === undefined) {
          this.#sfJobs.delete(record.id);
          this.#logger.info(
            { sf: record.id, logicalPort: record.logicalPort },
            'representor provider: SF deleted',
          );
        } else {
          this.#failSfJob(job, failure);
          this.#logger.warn({ sf: record.id, error: failure }, 'representor provider: deleting an SF failed');
        }
        this.#markChanged();
      });
  }

  #failSfJob(job: SfJob, failure: string): void {
    job.state = 'failed';
    job.error = failure;
    const delay = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** (job.attempts - 1));
    job.retryAt = this.#now() + delay;
    this.#after(delay, () => this.#markChanged());
  }

  /**
   * Resolves records nobody asks about: a record whose logical port prepare() has not seen (to
   * plug or unplug) for the grace, while other ports were planned since, belongs to a port that
   * is gone and has no interface left: its SF (if any) is deleted and the record dropped. This is
   * what cleans up after a crash between recording and `port add`, or between `port del` and
   * dropping the record. Without planning activity nothing is deleted.
   */
  #sweepSfRecords(): void {
    if (this.#sfIntents === undefined || !this.#active) return;
    const now = this.#now();
    if (now - this.#lastPruneAt >= this.#sfCleanupGraceMs) {
      // Sightings older than twice the grace decide nothing any more; keep the maps bounded.
      this.#lastPruneAt = now;
      for (const seen of [this.#createSeenAt, this.#removeSeenAt])
        for (const [port, at] of seen) if (now - at > 2 * this.#sfCleanupGraceMs) seen.delete(port);
    }
    for (const record of this.#sfIntents.list()) {
      const job = this.#sfJobs.get(record.id);
      if (
        job?.state === 'running' ||
        job?.state === 'added' ||
        (job?.state === 'failed' && (job.retryAt ?? 0) > now)
      )
        continue;
      const seen = Math.max(
        this.#createSeenAt.get(record.logicalPort) ?? this.#activeSince,
        this.#removeSeenAt.get(record.logicalPort) ?? this.#activeSince,
      );
      if (now - seen >= this.#sfCleanupGraceMs && this.#lastPrepareAt - seen >= this.#sfCleanupGraceMs) {
        this.#logger.info(
          { sf: record.id, logicalPort: record.logicalPort },
          'representor provider: cleaning up an unclaimed SF record',
        );
        this.#deleteSf(record);
      }
    }
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
      for (const port of dump.ports) this.#readBack(port);
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
      this.#readBack(port);
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
    for (const key of this.#functionJobs.keys()) {
      if (!this.#ports.has(key.slice(0, key.indexOf('\u0000')))) this.#functionJobs.delete(key);
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
    const handle = this.#timers.setTimer(() => {
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
    for (const handle of this.#timersPending) handle.cancel();
    this.#timersPending.clear();
  }
}

/** Creates the `representor` provider (see {@link RepresentorProvider}). */
export function createRepresentorProvider(options: RepresentorProviderOptions = {}): RepresentorProvider {
  return new RepresentorProvider(options);
}
