/**
 * PlanMemo: what planning runs of one caller carry over, so that a change on a node with 10,000
 * plugged ports costs in proportion to the change (issue 12 part 2, DESIGN §4), while the plan
 * stays what {@link planPorts} computes from scratch (test/unit/plug-planner-memo.test.ts checks
 * both agree over generated sequences of changes).
 *
 * What it keeps:
 * - Indexes of the rows — the bindings by logical port, the owned and foreign interfaces on the
 *   integration bridge by `iface-id`, the Interface and Port names — kept up to date from the row
 *   changes the caller notes ({@link PlanMemo.noteSb}, {@link PlanMemo.noteOvs}) instead of being
 *   rebuilt from every row. A gap in the changes (a version skipped), a reset, a change to the
 *   bridge itself or to the `Open_vSwitch` row: rebuilt from the rows at the next run.
 * - The logical ports each change touched ("dirty") since the last run.
 * - Each *steady* port's outcome: wanted, one owned interface matching its provider's ready
 *   answer, nothing to write. A run plans only the dirty ports and those whose last outcome was not
 *   steady (created, updated, blocked, held, removed…); the steady ones are taken as they are,
 *   without asking their provider again. A provider's answer is a function of its state and the
 *   request; a provider reports a change of state through `run()`/`onChange`, upon which the
 *   caller calls {@link PlanMemo.forgetOutcomes}; the caller's periodic full replan, a reconnect
 *   and a start call {@link PlanMemo.clear} — the safety net for a change nobody reported.
 * Anything the ports share (chassis, bridge, marker key, sync state, observe mode) is the run's
 * scope: a different scope plans every port afresh.
 */
import { IFACE_ID_KEY, ownValue } from './interface-columns.js';
import {
  isWantedHere,
  type BindingView,
  type MemoRun,
  type NameIndex,
  type OvsIndex,
  type OwnedInterface,
  type PlanInput,
  type PlanningMemo,
  type SteadyPort,
} from './planner.js';
import type { IntegrationBridgeInfo, PlugProvider } from './provider.js';
import type { NameSet, WantedChange } from './removal-guard.js';
import type { OvsBridge, OvsInterface, OvsPort, SbPortBinding } from './rows.js';

/** How rows of one table changed: the rows as they were, and as they are (same UUID: modified). */
export interface RowChanges<T> {
  /** Deleted rows and the old side of modified ones. */
  readonly before: readonly T[];
  /** Inserted rows and the new side of modified ones. */
  readonly after: readonly T[];
}

/** How the local Open vSwitch rows changed in one applied update. */
export interface OvsChanges {
  readonly bridges?: RowChanges<OvsBridge>;
  readonly ports?: RowChanges<OvsPort>;
  readonly interfaces?: RowChanges<OvsInterface>;
  /** The `Open_vSwitch` row changed (its `other_config` is handed to providers). */
  readonly openVswitch?: boolean;
}

export class PlanMemo implements PlanningMemo {
  #scope: string | undefined;
  #ovs: { version: number; readonly scope: string; readonly live: LiveOvsIndex } | undefined;
  #sb: { version: number; readonly chassisUuid: string; readonly live: LiveBindings } | undefined;
  readonly #steady = new Map<string, SteadyPort>();
  /** Ports a noted change touched since the last run. */
  readonly #dirty = new Set<string>();
  /** Ports whose last outcome was not steady: planned again every run. */
  #unsettled = new Set<string>();
  /** The next run plans every port (the outcomes were forgotten). */
  #planAll = true;
  /** Ports the current run found steady (recorded or replayed). */
  readonly #confirmed = new Set<string>();

  /** Forgets everything: the next run reads every row and asks every provider again. */
  clear(): void {
    this.#scope = undefined;
    this.#ovs = undefined;
    this.#sb = undefined;
    this.#steady.clear();
  }

  /**
   * Forgets the ports' outcomes (a provider's state changed): the next run plans every port and
   * asks every provider again, from the indexes it keeps.
   */
  forgetOutcomes(): void {
    this.#steady.clear();
    this.#planAll = true;
  }

  /** How many ports the next run may take as they are (for tests and benchmarks). */
  get steadyPorts(): number {
    return this.#steady.size;
  }

  /** Notes the Southbound rows of `version` (the one after the last noted): `reset` when all were replaced. */
  noteSb(version: number, changes: RowChanges<SbPortBinding> | 'reset'): void {
    const sb = this.#sb;
    if (sb === undefined) return;
    if (changes === 'reset' || version !== sb.version + 1) {
      this.#sb = undefined;
      return;
    }
    sb.version = version;
    for (const port of sb.live.apply(changes)) this.#dirty.add(port);
  }

  /** Notes the Open vSwitch rows of `version` (the one after the last noted): `reset` when all were replaced. */
  noteOvs(version: number, changes: OvsChanges | 'reset'): void {
    const ovs = this.#ovs;
    if (ovs === undefined) return;
    const dirty = changes === 'reset' || version !== ovs.version + 1 ? 'rebuild' : ovs.live.apply(changes);
    if (dirty === 'rebuild') {
      this.#ovs = undefined;
      return;
    }
    ovs.version = version;
    for (const port of dirty) this.#dirty.add(port);
  }

  /** The indexes for `input`, and which ports to plan (PlanningMemo). */
  start(input: PlanInput): MemoRun {
    let complete = true;
    const ovsScope = `${input.integrationBridge}\u0000${input.config.ownershipKey}`;
    const ovs = this.#ovs;
    let liveOvs: LiveOvsIndex;
    if (input.ovsVersion !== undefined && ovs?.version === input.ovsVersion && ovs.scope === ovsScope) {
      liveOvs = ovs.live;
    } else {
      liveOvs = new LiveOvsIndex(input);
      this.#ovs =
        input.ovsVersion === undefined
          ? undefined
          : { version: input.ovsVersion, scope: ovsScope, live: liveOvs };
      complete = false;
    }
    const sb = this.#sb;
    let liveSb: LiveBindings;
    if (
      input.sbVersion !== undefined &&
      sb?.version === input.sbVersion &&
      sb.chassisUuid === input.chassisUuid
    ) {
      liveSb = sb.live;
    } else {
      liveSb = new LiveBindings(input);
      this.#sb =
        input.sbVersion === undefined
          ? undefined
          : { version: input.sbVersion, chassisUuid: input.chassisUuid, live: liveSb };
      complete = false;
    }
    const index = liveOvs.view();
    const { config } = input;
    const scope = [
      input.chassisUuid,
      input.integrationBridge,
      config.ownershipKey,
      String(config.canRemove),
      [...(config.observePlugTypes ?? [])].sort().join(','),
      String(index.bridgeFound),
      index.bridgeInfo === undefined ? '' : JSON.stringify(index.bridgeInfo),
    ].join('\u0000');
    if (scope !== this.#scope) {
      this.#steady.clear();
      complete = false;
    }
    this.#scope = scope;
    let only: Set<string> | undefined;
    if (complete && !this.#planAll) {
      only = new Set(this.#unsettled);
      for (const port of this.#dirty) only.add(port);
    }
    this.#dirty.clear();
    this.#planAll = false;
    return { index, view: liveSb.view(), only };
  }

  /** Hands over the steady ports a run with `only` does not plan, as they are (PlanningMemo). */
  replayOutside(only: ReadonlySet<string>, replay: (steady: SteadyPort) => void): void {
    for (const [port, steady] of this.#steady) if (!only.has(port)) replay(steady);
  }

  /** A steady port's outcome, when nothing it depends on changed (PlanningMemo). */
  replayable(
    binding: SbPortBinding,
    listed: readonly OwnedInterface[],
    hasForeign: boolean,
    provider: PlugProvider | undefined,
  ): SteadyPort | undefined {
    const steady = this.#steady.get(binding.logicalPort);
    if (steady === undefined) return undefined;
    const owned = listed.length === 1 ? listed[0] : undefined;
    if (
      steady.binding === binding &&
      owned !== undefined &&
      owned.iface === steady.owned.iface &&
      owned.port === steady.owned.port &&
      owned.plugType === steady.owned.plugType &&
      !hasForeign &&
      provider === steady.provider
    ) {
      this.#confirmed.add(binding.logicalPort);
      return steady;
    }
    this.#steady.delete(binding.logicalPort);
    return undefined;
  }

  /** A port found steady after asking its provider (PlanningMemo). */
  record(steady: SteadyPort): void {
    this.#steady.set(steady.binding.logicalPort, steady);
    this.#confirmed.add(steady.binding.logicalPort);
  }

  /**
   * The run planned `planned` (all of `only`, or every port when undefined): a port it did not
   * find steady is planned again next run, and forgotten as steady (PlanningMemo).
   */
  finish(planned: Iterable<string>, only: ReadonlySet<string> | undefined): void {
    for (const port of only ?? [...this.#steady.keys()])
      if (!this.#confirmed.has(port)) this.#steady.delete(port);
    const unsettled = new Set<string>();
    for (const port of planned) if (!this.#confirmed.has(port)) unsettled.add(port);
    this.#unsettled = unsettled;
    this.#confirmed.clear();
  }
}

/**
 * The bindings by logical port, and what the planner reads of them ({@link BindingView}), kept up
 * to date from row changes: each touched port is classified again from its own bindings only.
 */
class LiveBindings {
  readonly #chassisUuid: string;
  /** A port's binding, or its bindings by UUID when it has several (a conflict). */
  readonly #byPort = new Map<string, SbPortBinding | Map<string, SbPortBinding>>();
  readonly #wanted = new Map<string, SbPortBinding>();
  readonly #duplicated = new Set<string>();
  readonly #unwantedOptions = new Map<string, Readonly<Record<string, string>>>();
  /** Replaced when the wanted ports change: the removal guard compares it by identity. */
  #wantedNames: NameSet = new KeysOf(this.#wanted);
  #wantedChange: WantedChange | undefined;
  /** Ports that became wanted (true) or not (false) since the last view. */
  readonly #flipped = new Map<string, boolean>();

  constructor(input: PlanInput) {
    this.#chassisUuid = input.chassisUuid;
    this.apply({ before: [], after: [...input.portBindings] });
  }

  #forget(row: SbPortBinding): void {
    const rows = this.#byPort.get(row.logicalPort);
    if (rows instanceof Map) {
      rows.delete(row.uuid);
      if (rows.size === 1) this.#byPort.set(row.logicalPort, rows.values().next().value ?? row);
    } else if (rows?.uuid === row.uuid) this.#byPort.delete(row.logicalPort);
  }

  view(): BindingView {
    if (this.#flipped.size > 0) {
      const added: string[] = [];
      const removed: string[] = [];
      for (const [port, wanted] of this.#flipped) (wanted ? added : removed).push(port);
      this.#flipped.clear();
      this.#wantedChange = { from: this.#wantedNames, added, removed };
      this.#wantedNames = new KeysOf(this.#wanted);
    }
    return {
      wanted: this.#wanted,
      wantedNames: this.#wantedNames,
      ...(this.#wantedChange === undefined ? {} : { wantedChange: this.#wantedChange }),
      duplicated: this.#duplicated,
      unwantedOptions: this.#unwantedOptions,
    };
  }

  /** Applies `changes`; returns the logical ports they touched. */
  apply(changes: RowChanges<SbPortBinding>): Set<string> {
    const touched = new Set<string>();
    const after = new Map(changes.after.map((row) => [row.uuid, row]));
    for (const row of changes.before) {
      touched.add(row.logicalPort);
      // A binding modified in place keeps its place among its port's bindings.
      if (after.get(row.uuid)?.logicalPort === row.logicalPort) continue;
      this.#forget(row);
    }
    for (const row of changes.after) {
      touched.add(row.logicalPort);
      const rows = this.#byPort.get(row.logicalPort);
      if (rows === undefined || (!(rows instanceof Map) && rows.uuid === row.uuid))
        this.#byPort.set(row.logicalPort, row);
      else if (rows instanceof Map) rows.set(row.uuid, row);
      else
        this.#byPort.set(
          row.logicalPort,
          new Map([
            [rows.uuid, rows],
            [row.uuid, row],
          ]),
        );
    }
    for (const port of touched) {
      const wasWanted = this.#wanted.has(port);
      this.#wanted.delete(port);
      this.#duplicated.delete(port);
      this.#unwantedOptions.delete(port);
      const rows = this.#byPort.get(port);
      for (const binding of rows === undefined ? [] : rows instanceof Map ? rows.values() : [rows]) {
        if (!isWantedHere(binding, this.#chassisUuid)) this.#unwantedOptions.set(port, binding.options);
        else if (this.#wanted.has(port)) this.#duplicated.add(port);
        else this.#wanted.set(port, binding);
      }
      if (wasWanted !== this.#wanted.has(port)) {
        // Flipped back since the last view: no change to report for it.
        if (this.#flipped.has(port)) this.#flipped.delete(port);
        else this.#flipped.set(port, !wasWanted);
      }
    }
    return touched;
  }
}

/**
 * The keys of a map as a {@link NameSet}, without copying them. A new one stands for each new
 * content: the old ones are never handed out again, so an object seen twice held the same keys.
 */
class KeysOf implements NameSet {
  constructor(private readonly map: ReadonlyMap<string, unknown>) {}
  has(name: string): boolean {
    return this.map.has(name);
  }
  [Symbol.iterator](): Iterator<string> {
    return this.map.keys();
  }
}

/** An interface on the integration bridge, where the bridge walk meets it. */
interface Placed {
  readonly iface: OvsInterface;
  readonly port: OvsPort;
}

/**
 * The OVS rows by UUID, name and `iface-id`, and the interfaces on the integration bridge by
 * `iface-id` ({@link OvsIndex}), kept up to date from row changes: each touched logical port's
 * interfaces are found again from its own rows only.
 */
class LiveOvsIndex {
  readonly #integrationBridge: string;
  readonly #ownershipKey: string;
  readonly #otherConfig: Readonly<Record<string, string>>;
  #bridge: OvsBridge | undefined;
  #bridgePorts = new Set<string>();
  readonly #interfaces = new Map<string, OvsInterface>();
  readonly #ports = new Map<string, OvsPort>();
  readonly #portsOfInterface = new Map<string, Names>();
  readonly #byIfaceId = new Map<string, Names>();
  readonly #interfaceByName = new Map<string, OvsInterface>();
  readonly #portNames = new Map<string, number>();
  readonly #owned = new Map<string, OwnedInterface[]>();
  readonly #foreign = new Map<string, OvsInterface[]>();
  #ownedCount = 0;

  constructor(input: PlanInput) {
    this.#integrationBridge = input.integrationBridge;
    this.#ownershipKey = input.config.ownershipKey;
    this.#otherConfig = input.ovsOtherConfig ?? {};
    for (const iface of input.interfaces) this.#addInterface(iface);
    for (const port of input.ports) this.#addPort(port);
    for (const bridge of input.bridges) if (bridge.name === input.integrationBridge) this.#bridge = bridge;
    this.#bridgePorts = new Set(this.#bridge?.ports ?? []);
    for (const port of this.#byIfaceId.keys()) this.#place(port);
  }

  view(): OvsIndex {
    const bridge = this.#bridge;
    const bridgeInterfaces = { owned: this.#owned, foreign: this.#foreign, ownedCount: this.#ownedCount };
    const bridgeInfo: IntegrationBridgeInfo | undefined =
      bridge === undefined
        ? undefined
        : { name: bridge.name, datapathType: bridge.datapathType ?? '', ovsOtherConfig: this.#otherConfig };
    const names: NameIndex = {
      interfaceByName: this.#interfaceByName,
      portNames: { has: (name: string) => this.#portNames.has(name) },
    };
    return {
      bridgeFound: bridge !== undefined,
      ...(bridgeInfo === undefined ? {} : { bridgeInfo }),
      bridgeInterfaces,
      ownedByPort: this.#owned,
      foreignByPort: this.#foreign,
      names: () => names,
      ownedCount: this.#ownedCount,
    };
  }

  /** Applies `changes`; returns the logical ports they touched, or `rebuild` when it cannot follow them. */
  apply(changes: OvsChanges): Set<string> | 'rebuild' {
    if (changes.openVswitch === true) return 'rebuild';
    const touched = new Set<string>();
    const touch = (ifaceUuid: string): void => {
      const iface = this.#interfaces.get(ifaceUuid);
      const id = iface === undefined ? undefined : ownValue(iface.externalIds, IFACE_ID_KEY);
      if (id !== undefined) touched.add(id);
    };
    const interfaces = changes.interfaces;
    if (interfaces !== undefined) {
      for (const iface of interfaces.before) {
        const id = ownValue(iface.externalIds, IFACE_ID_KEY);
        if (id !== undefined) touched.add(id);
        this.#removeInterface(iface);
      }
      for (const iface of interfaces.after) {
        const id = ownValue(iface.externalIds, IFACE_ID_KEY);
        if (id !== undefined) touched.add(id);
        this.#addInterface(iface);
      }
    }
    const ports = changes.ports;
    if (ports !== undefined) {
      for (const port of ports.before) {
        for (const uuid of port.interfaces) touch(uuid);
        this.#removePort(port);
      }
      for (const port of ports.after) {
        this.#addPort(port);
        for (const uuid of port.interfaces) touch(uuid);
      }
    }
    const bridges = changes.bridges;
    if (bridges !== undefined) {
      const current = this.#bridge;
      const now = bridges.after.find((b) => b.uuid === current?.uuid);
      const named = [...bridges.before, ...bridges.after].some(
        (b) => b.name === this.#integrationBridge && b.uuid !== current?.uuid,
      );
      const gone =
        current !== undefined && bridges.before.some((b) => b.uuid === current.uuid) && now === undefined;
      if (named || gone) return 'rebuild';
      if (current !== undefined && now !== undefined) {
        if (now.name !== current.name || (now.datapathType ?? '') !== (current.datapathType ?? ''))
          return 'rebuild';
        const before = this.#bridgePorts;
        const after = new Set(now.ports);
        for (const uuid of before) if (!after.has(uuid)) this.#touchPort(uuid, touch, ports);
        for (const uuid of after) if (!before.has(uuid)) this.#touchPort(uuid, touch, ports);
        this.#bridge = now;
        this.#bridgePorts = after;
      }
    }
    for (const port of touched) this.#place(port);
    return touched;
  }

  /** Touches the interfaces of a Port that joined or left the bridge (a deleted one: as it was). */
  #touchPort(uuid: string, touch: (ifaceUuid: string) => void, ports: RowChanges<OvsPort> | undefined): void {
    const port = this.#ports.get(uuid) ?? ports?.before.find((p) => p.uuid === uuid);
    for (const iface of port?.interfaces ?? []) touch(iface);
  }

  #addInterface(iface: OvsInterface): void {
    this.#interfaces.set(iface.uuid, iface);
    this.#interfaceByName.set(iface.name, iface);
    const id = ownValue(iface.externalIds, IFACE_ID_KEY);
    if (id !== undefined) addTo(this.#byIfaceId, id, iface.uuid);
  }

  #removeInterface(iface: OvsInterface): void {
    this.#interfaces.delete(iface.uuid);
    if (this.#interfaceByName.get(iface.name)?.uuid === iface.uuid) this.#interfaceByName.delete(iface.name);
    const id = ownValue(iface.externalIds, IFACE_ID_KEY);
    if (id !== undefined) removeFrom(this.#byIfaceId, id, iface.uuid);
  }

  #addPort(port: OvsPort): void {
    this.#ports.set(port.uuid, port);
    this.#portNames.set(port.name, (this.#portNames.get(port.name) ?? 0) + 1);
    for (const iface of port.interfaces) addTo(this.#portsOfInterface, iface, port.uuid);
  }

  #removePort(port: OvsPort): void {
    this.#ports.delete(port.uuid);
    const count = (this.#portNames.get(port.name) ?? 1) - 1;
    if (count > 0) this.#portNames.set(port.name, count);
    else this.#portNames.delete(port.name);
    for (const iface of port.interfaces) removeFrom(this.#portsOfInterface, iface, port.uuid);
  }

  /** Finds the interfaces carrying `logicalPort` on the bridge again, in the bridge walk's order. */
  #place(logicalPort: string): void {
    this.#ownedCount -= this.#owned.get(logicalPort)?.length ?? 0;
    this.#owned.delete(logicalPort);
    this.#foreign.delete(logicalPort);
    const placed: Placed[] = [];
    for (const ifaceUuid of namesOf(this.#byIfaceId.get(logicalPort))) {
      const iface = this.#interfaces.get(ifaceUuid);
      if (iface === undefined) continue;
      for (const portUuid of namesOf(this.#portsOfInterface.get(ifaceUuid))) {
        const port = this.#ports.get(portUuid);
        if (port !== undefined && this.#bridgePorts.has(portUuid)) placed.push({ iface, port });
      }
    }
    if (placed.length > 1) this.#sortAsWalked(placed);
    for (const { iface, port } of placed) {
      const marker = ownValue(iface.externalIds, this.#ownershipKey);
      if (marker === undefined) appendTo(this.#foreign, logicalPort, iface);
      else {
        appendTo(this.#owned, logicalPort, { iface, port, plugType: marker });
        this.#ownedCount += 1;
      }
    }
  }

  /** The order of a walk of the bridge: its ports in order, each Port's interfaces in order. */
  #sortAsWalked(placed: Placed[]): void {
    const order = new Map((this.#bridge?.ports ?? []).map((uuid, i) => [uuid, i]));
    placed.sort(
      (a, b) =>
        (order.get(a.port.uuid) ?? 0) - (order.get(b.port.uuid) ?? 0) ||
        a.port.interfaces.indexOf(a.iface.uuid) - b.port.interfaces.indexOf(b.iface.uuid),
    );
  }
}

/**
 * One name or several: nearly every key has one, and a Set for each would cost ~2 MB per index at
 * 10,000 ports.
 */
type Names = string | Set<string>;

function namesOf(names: Names | undefined): Iterable<string> {
  return names === undefined ? [] : typeof names === 'string' ? [names] : names;
}

function addTo(map: Map<string, Names>, key: string, value: string): void {
  const names = map.get(key);
  if (names === undefined) map.set(key, value);
  else if (typeof names === 'string') {
    if (names !== value) map.set(key, new Set([names, value]));
  } else names.add(value);
}

function removeFrom(map: Map<string, Names>, key: string, value: string): void {
  const names = map.get(key);
  if (names === value) map.delete(key);
  else if (typeof names !== 'string' && names !== undefined) {
    names.delete(value);
    if (names.size === 1) map.set(key, names.values().next().value ?? '');
    else if (names.size === 0) map.delete(key);
  }
}

function appendTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
