/**
 * The planner: one pure, level-triggered decision from the Southbound port bindings of this
 * chassis and the local Open vSwitch rows to a {@link Plan} (DESIGN §3.2, §3.4).
 *
 * It replaces upstream's two passes and their event quirks with one rule: a port is *wanted here*
 * iff its binding is a VIF (`type ""`, no `parent_port`), carries a plug type, and requests this
 * chassis as main or additional chassis. Every wanted port gets exactly one owned interface on
 * the integration bridge matching its provider's answer; every owned interface that is not wanted
 * goes. Safety comes before convergence: rows without our ownership marker are never changed,
 * a provider that cannot answer leaves the existing interface as it is, and nothing is removed
 * before `canRemove` (both replicas synced with their final conditions).
 *
 * The only side effect is calling providers' synchronous `prepare()`; each ready answer the plan
 * obtained appears exactly once in it (in an entry, or in `release`) so that the reconciler can
 * call `finish`/`release` as the provider contract requires.
 *
 * Cost: linear in the number of rows (maps, no scans per port); only a port with several owned
 * interfaces sorts them, and name claims settle as a fixpoint that usually ends after one pass.
 */
import {
  IFACE_ID_KEY,
  interfaceAfterUpdate,
  interfaceChanges,
  interfaceForCreate,
  mtuRequestOf,
  ownValue,
  plugTypeOf,
  type DesiredInterface,
  type InterfaceChanges,
  type OwnershipKey,
} from './interface-columns.js';
import type {
  IntegrationBridgeInfo,
  PlugAnswer,
  PlugProvider,
  PlugReady,
  PlugRequest,
  ProviderWarning,
} from './provider.js';
import type { HeldRemoval, NameSet, RemovalReview, WantedChange } from './removal-guard.js';
import type { OvsBridge, OvsInterface, OvsPort, SbPortBinding } from './rows.js';
import type { PortReason } from './states.js';

/** What the planner learns about a provider type. `undefined` from the lookup: no such provider. */
export type ProviderLookupResult =
  | { readonly kind: 'available'; readonly provider: PlugProvider }
  | { readonly kind: 'unavailable'; readonly reason: string };

export type ProviderLookup = (type: string) => ProviderLookupResult | undefined;

export interface PlannerConfig {
  /** `external_ids` key marking interfaces as ours (DESIGN §3.2). */
  readonly ownershipKey: OwnershipKey;
  /** Both replicas completed their initial sync with the final monitor conditions. */
  readonly canRemove: boolean;
  /**
   * Plug types in *observe* mode (DESIGN §3.5a): ovn-controller's built-in plugging plugs them;
   * the agent never creates or updates their interfaces and reports the ones it finds marked
   * `ovn-plugged`. Absent or empty: every type is in *plug* mode.
   */
  readonly observePlugTypes?: ReadonlySet<string>;
}

export interface PlanInput {
  /** UUID of this chassis' `Chassis` row. */
  readonly chassisUuid: string;
  /** Name of the integration bridge (`Open_vSwitch external_ids:ovn-bridge`, default `br-int`). */
  readonly integrationBridge: string;
  readonly portBindings: Iterable<SbPortBinding>;
  readonly bridges: Iterable<OvsBridge>;
  readonly ports: Iterable<OvsPort>;
  readonly interfaces: Iterable<OvsInterface>;
  /** `Open_vSwitch other_config`, handed to providers with the bridge (e.g. `doca-init`). */
  readonly ovsOtherConfig?: Readonly<Record<string, string>>;
  readonly providers: ProviderLookup;
  readonly config: PlannerConfig;
  /**
   * The removal guard (removal-guard.ts), consulted once per plan with the ports wanted here and
   * the owned ports that are not. Absent: no removal is held and every wanted port may take over
   * an interface an unwanted port holds.
   */
  readonly reviewRemovals?: (ports: RemovalPorts) => RemovalReview;
  /**
   * What this run may reuse from earlier runs of the same caller (PlanMemo, plan-memo.ts); with it,
   * `sbVersion` and `ovsVersion` say when the rows are the same as before. Absent: everything is
   * computed afresh.
   */
  readonly memo?: PlanningMemo;
  /** Equal for two runs iff `portBindings` are the same rows (e.g. the replica's seqno). */
  readonly sbVersion?: number;
  /** Equal for two runs iff `bridges`, `ports`, `interfaces` and `ovsOtherConfig` are the same rows. */
  readonly ovsVersion?: number;
}

/** A wanted port whose owned interface matched its provider's answer, and what that took. */
export interface SteadyPort {
  readonly binding: SbPortBinding;
  readonly owned: OwnedInterface;
  readonly provider: PlugProvider;
  readonly unchanged: UnchangedPort;
  /** The ready answer's warnings. */
  readonly warnings: readonly ProviderWarning[];
  /** The binding's MTU option is invalid: the plan's warning for it. */
  readonly mtuWarning?: string;
}

/** What one planning run starts from. */
export interface MemoRun {
  readonly index: OvsIndex;
  readonly view: BindingView;
  /** The ports to plan; the steady ones outside it are taken as they are. Undefined: every port. */
  readonly only: ReadonlySet<string> | undefined;
}

/**
 * What the planner asks of a memo (implemented by PlanMemo, plan-memo.ts): the indexes and the
 * ports to plan, the outcomes of steady ports, and what a run found.
 */
export interface PlanningMemo {
  start(input: PlanInput): MemoRun;
  replayOutside(only: ReadonlySet<string>, replay: (steady: SteadyPort) => void): void;
  replayable(
    binding: SbPortBinding,
    listed: readonly OwnedInterface[],
    hasForeign: boolean,
    provider: PlugProvider | undefined,
  ): SteadyPort | undefined;
  record(steady: SteadyPort): void;
  finish(planned: Iterable<string>, only: ReadonlySet<string> | undefined): void;
}

/** What the planner tells the removal guard. */
export interface RemovalPorts {
  readonly wanted: NameSet;
  /** How `wanted` differs from an earlier round's (see RemovalRound.wantedChange). */
  readonly wantedChange?: WantedChange;
  readonly unwanted: ReadonlySet<string>;
  readonly ownedCount: number;
}

/** A ready answer the reconciler must `finish` (after a commit that applied it) and/or `release`. */
export interface PreparedPlug {
  readonly provider: PlugProvider;
  readonly request: PlugRequest;
  readonly answer: PlugReady;
}

/** Create a Port and its Interface (same name) on the integration bridge. */
export interface PlannedCreate {
  readonly logicalPort: string;
  readonly plugType: string;
  readonly portBindingUuid: string;
  readonly interface: DesiredInterface;
  readonly prepared: PreparedPlug;
}

/** Bring an owned Interface's columns in line; the Port row is never changed. */
export interface PlannedUpdate {
  readonly logicalPort: string;
  readonly plugType: string;
  readonly portBindingUuid: string;
  readonly interfaceUuid: string;
  readonly portUuid: string;
  readonly interface: DesiredInterface;
  readonly changes: InterfaceChanges;
  readonly prepared: PreparedPlug;
}

export type RemovalReason =
  /** The logical port is no longer wanted on this chassis (DESIGN §3.4). */
  | 'NotWanted'
  /** A second owned interface for a wanted port; the one matching the provider's answer stays. */
  | 'DuplicateInterface'
  /** The old half of a replug: the provider now names another interface. */
  | 'Replaced'
  /**
   * The interface of a port no longer wanted, whose removal was held or postponed, taken over by a
   * wanted port whose request arrived within the current session (DESIGN §3.4: VF reuse).
   */
  | 'TakenOver';

/** Remove an owned Port (and its only Interface) from the integration bridge. */
export interface PlannedRemove {
  readonly logicalPort: string;
  /** The marker's value: the provider that plugged it and was asked to `prepare(remove)`. */
  readonly plugType: string;
  readonly interfaceUuid: string;
  readonly interfaceName: string;
  readonly portUuid: string;
  readonly reason: RemovalReason;
  /**
   * The provider's ready answer to `prepare(remove)`. Absent only for a take-over of a port whose
   * provider postponed its removal: the interface goes all the same, since a wanted port needs it.
   */
  readonly prepared?: PreparedPlug;
}

/**
 * The provider now names a different interface: remove the old one and create the new one in one
 * transaction. `old.logicalPort` is another port's for a take-over (`old.reason` `TakenOver`).
 */
export interface PlannedReplug {
  readonly logicalPort: string;
  readonly plugType: string;
  readonly portBindingUuid: string;
  readonly old: PlannedRemove;
  readonly interface: DesiredInterface;
  readonly prepared: PreparedPlug;
}

export type BlockedState = 'Pending' | 'Failed' | 'Conflict';

/** A port the plan does not act on, with the reason shown to operators. */
export interface BlockedPort {
  readonly logicalPort: string;
  readonly state: BlockedState;
  /** CamelCase reason, e.g. `ProviderNotFound`, `ForeignInterface`, or the provider's not-now code. */
  readonly reason: PortReason;
  /** Names the key and quotes the value at fault where there is one. */
  readonly message: string;
  /** Whether the blocked action was plugging (wanted port) or unplugging (owned, not wanted). */
  readonly operation: 'plug' | 'unplug';
  readonly plugType?: string;
  /** The interface left untouched, if any. */
  readonly interfaceUuid?: string;
}

/** An unwanted port whose removal the removal guard holds; its interface stays for now. */
export interface HeldPort {
  readonly logicalPort: string;
  readonly plugType: string;
  readonly interfaceUuid: string;
  readonly interfaceName: string;
  readonly hold: HeldRemoval;
}

/** A wanted port whose owned interface already matches: nothing to write. */
export interface UnchangedPort {
  readonly logicalPort: string;
  readonly plugType: string;
  readonly portBindingUuid: string;
  readonly interfaceUuid: string;
  readonly interfaceName: string;
}

export interface PlanWarning {
  readonly logicalPort: string;
  readonly message: string;
  /** Set for a provider's warning on a ready answer (`PlugReady.warnings`): its code. */
  readonly code?: string;
  /** The provider type, with `code`. */
  readonly plugType?: string;
}

/**
 * Observe mode (DESIGN §3.5a): a wanted port whose interface ovn-controller's built-in plugging
 * created (marked `ovn-plugged`); reported from its interface, never written.
 */
export interface ObservedPort {
  readonly logicalPort: string;
  readonly plugType: string;
  readonly portBindingUuid: string;
  readonly interfaceUuid: string;
  readonly interfaceName: string;
}

export interface Plan {
  readonly create: readonly PlannedCreate[];
  readonly update: readonly PlannedUpdate[];
  readonly replug: readonly PlannedReplug[];
  readonly remove: readonly PlannedRemove[];
  readonly blocked: readonly BlockedPort[];
  /** Unwanted ports whose removal is held (not in `remove`, nor in `blocked`). */
  readonly held: readonly HeldPort[];
  readonly unchanged: readonly UnchangedPort[];
  /** Observe-mode ports plugged by ovn-controller's built-in plugging (DESIGN §3.5a). */
  readonly observed: readonly ObservedPort[];
  /** Ready answers no entry uses (nothing to write, or blocked afterwards): release them now, no `finish`. */
  readonly release: readonly PreparedPlug[];
  /** Input problems that do not block the port (e.g. an invalid MTU option, which clears the column). */
  readonly warnings: readonly PlanWarning[];
  /** Interfaces on the integration bridge carrying `iface-id` and our marker (input to the removal hold). */
  readonly ownedCount: number;
  /** The bridge as this plan read it (for status: what each port's interface shows). */
  readonly bridgeInterfaces: BridgeInterfaces;
  /**
   * Set when a memo took the steady ports outside it as they were (PlanningMemo): only these ports
   * may differ from the previous plan of the same memo, and a port that left the plan is among
   * them. Undefined: any port may have changed.
   */
  readonly changedPorts?: ReadonlySet<string>;
}

/** True when the plan writes nothing. */
export function isEmptyPlan(plan: Plan): boolean {
  return (
    plan.create.length === 0 &&
    plan.update.length === 0 &&
    plan.replug.length === 0 &&
    plan.remove.length === 0
  );
}

/**
 * DESIGN §3.4 "wanted here": a VIF binding with a plug type whose requested chassis, main or
 * additional, is this chassis.
 */
export function isWantedHere(binding: SbPortBinding, chassisUuid: string): boolean {
  if (binding.type !== '' || (binding.parentPort !== undefined && binding.parentPort !== '')) return false;
  if (plugTypeOf(binding.options) === undefined) return false;
  return binding.requestedChassis === chassisUuid || binding.requestedAdditionalChassis.includes(chassisUuid);
}

const UNICAST_MAC = /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/i;

/** The binding's unicast Ethernet address (lower case) for {@link PlugRequest.mac}. */
export function unicastMacOf(binding: SbPortBinding): string | undefined {
  const entry = binding.mac?.[0]?.trimStart();
  if (entry === undefined) return undefined;
  const end = entry.search(/\s/);
  const first = end === -1 ? entry : entry.slice(0, end);
  return UNICAST_MAC.test(first) ? first.toLowerCase() : undefined;
}

export interface OwnedInterface {
  readonly iface: OvsInterface;
  readonly port: OvsPort;
  /** The marker's value. */
  readonly plugType: string;
}

/**
 * The interfaces on the integration bridge that carry an `iface-id`, by that id, in the order of
 * the bridge's `ports` and each Port's `interfaces`: the one walk of the bridge that both the plan
 * and the status report read.
 */
export interface BridgeInterfaces {
  /** Carrying the ownership marker. */
  readonly owned: ReadonlyMap<string, readonly OwnedInterface[]>;
  /** Without the marker (another writer's). */
  readonly foreign: ReadonlyMap<string, readonly OvsInterface[]>;
  /** Owned interfaces on the bridge. */
  readonly ownedCount: number;
}

interface RemovalCandidate {
  readonly logicalPort: string;
  /** The port binding's options when it still exists (upstream passes them to `prepare(remove)` too). */
  readonly options: Readonly<Record<string, string>>;
  readonly owned: OwnedInterface;
  readonly reason: RemovalReason;
}

interface PlugCandidate {
  readonly binding: SbPortBinding;
  readonly plugType: string;
  readonly prepared: PreparedPlug;
  /** Set for a replug: the owned interface the answer no longer names. */
  readonly replacing?: OwnedInterface;
}

type ProviderCall<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (Object.hasOwn(record, key) && typeof record[key] !== 'string') return false;
  }
  return true;
}

function isWarningList(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every(
      (w: unknown) =>
        typeof w === 'object' &&
        w !== null &&
        typeof (w as Record<string, unknown>)['code'] === 'string' &&
        typeof (w as Record<string, unknown>)['message'] === 'string',
    )
  );
}

/** Checks an answer at run time: external providers are plain JavaScript and may break the contract. */
function validateAnswer(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null) return `answer ${String(answer)} is not an object`;
  if ('then' in answer && typeof answer.then === 'function') {
    if ('catch' in answer && typeof answer.catch === 'function') {
      // The promise is abandoned; keep its eventual rejection from crashing the process.
      (answer.catch as (handler: () => void) => unknown)(() => undefined);
    }
    return 'prepare() returned a Promise; it must answer synchronously';
  }
  if (!('kind' in answer)) return 'answer has no "kind"';
  if (answer.kind === 'notNow') {
    return 'reason' in answer && typeof answer.reason === 'string'
      ? undefined
      : 'not-now answer has no "reason" string';
  }
  if (answer.kind !== 'ready')
    return `answer kind ${JSON.stringify(answer.kind)} is neither "ready" nor "notNow"`;
  if (!('name' in answer) || typeof answer.name !== 'string' || answer.name === '') {
    return 'ready answer has no non-empty "name"';
  }
  if ('type' in answer && answer.type !== undefined && typeof answer.type !== 'string') {
    return `ready answer "type" ${JSON.stringify(answer.type)} is not a string`;
  }
  if (!('options' in answer) || !isStringRecord(answer.options)) {
    return 'ready answer "options" is not a record of strings';
  }
  if ('warnings' in answer && answer.warnings !== undefined && !isWarningList(answer.warnings)) {
    return 'ready answer "warnings" is not a list of { code, message } strings';
  }
  return undefined;
}

function callPrepare(provider: PlugProvider, request: PlugRequest): ProviderCall<PlugAnswer> {
  let answer: unknown;
  try {
    answer = provider.prepare(request);
  } catch (error) {
    return {
      ok: false,
      message: `provider "${provider.type}" threw in prepare(${request.operation}) for ${JSON.stringify(request.logicalPort)}: ${describeError(error)}`,
    };
  }
  const problem = validateAnswer(answer);
  if (problem !== undefined) {
    return {
      ok: false,
      message: `provider "${provider.type}" gave an invalid answer to prepare(${request.operation}) for ${JSON.stringify(request.logicalPort)}: ${problem}`,
    };
  }
  return { ok: true, value: answer as PlugAnswer };
}

function callMaintained(provider: PlugProvider): ProviderCall<readonly string[]> {
  try {
    const keys: unknown = provider.maintainedIfaceOptions();
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
      return {
        ok: false,
        message: `provider "${provider.type}" maintainedIfaceOptions() did not return an array of strings`,
      };
    }
    return { ok: true, value: keys };
  } catch (error) {
    return {
      ok: false,
      message: `provider "${provider.type}" threw in maintainedIfaceOptions(): ${describeError(error)}`,
    };
  }
}

/** Mutable working state of one planning run; only {@link planPorts} touches it. */
class PlanBuilder {
  readonly create: PlannedCreate[] = [];
  readonly update: PlannedUpdate[] = [];
  readonly replug: PlannedReplug[] = [];
  readonly remove: PlannedRemove[] = [];
  readonly blocked: BlockedPort[] = [];
  readonly held: HeldPort[] = [];
  readonly unchanged: UnchangedPort[] = [];
  readonly observed: ObservedPort[] = [];
  readonly release: PreparedPlug[] = [];
  readonly warnings: PlanWarning[] = [];

  block(entry: BlockedPort): void {
    this.blocked.push(entry);
  }

  build(bridgeInterfaces: BridgeInterfaces, changedPorts: ReadonlySet<string> | undefined): Plan {
    return {
      ...(changedPorts === undefined ? {} : { changedPorts }),
      create: this.create,
      update: this.update,
      replug: this.replug,
      remove: this.remove,
      blocked: this.blocked,
      held: this.held,
      unchanged: this.unchanged,
      observed: this.observed,
      release: this.release,
      warnings: this.warnings,
      ownedCount: bridgeInterfaces.ownedCount,
      bridgeInterfaces,
    };
  }
}

/** Every Interface / Port name in the database (both are unique indexes in the schema). */
export interface NameIndex {
  readonly interfaceByName: ReadonlyMap<string, OvsInterface>;
  readonly portNames: { has(name: string): boolean };
}

/**
 * Indexes of the OVS rows the planner consults (built here, or kept up to date by PlanMemo; valid
 * for the run they are handed to).
 */
export interface OvsIndex {
  readonly bridgeFound: boolean;
  /** What providers learn about the integration bridge (PlugRequest.bridge). */
  readonly bridgeInfo?: IntegrationBridgeInfo;
  readonly bridgeInterfaces: BridgeInterfaces;
  /** Owned interfaces on the integration bridge by `iface-id`. */
  readonly ownedByPort: ReadonlyMap<string, readonly OwnedInterface[]>;
  /** Unmarked interfaces on the integration bridge carrying an `iface-id`, by that id. */
  readonly foreignByPort: ReadonlyMap<string, readonly OvsInterface[]>;
  /** Built on first use: a steady-state plan has no creates and never needs them. */
  readonly names: () => NameIndex;
  readonly ownedCount: number;
}

export function indexOvs(input: PlanInput): OvsIndex {
  const interfaceByUuid = new Map<string, OvsInterface>();
  for (const iface of input.interfaces) interfaceByUuid.set(iface.uuid, iface);
  const portByUuid = new Map<string, OvsPort>();
  for (const port of input.ports) portByUuid.set(port.uuid, port);
  let bridge: OvsBridge | undefined;
  for (const candidate of input.bridges) {
    if (candidate.name === input.integrationBridge) bridge = candidate;
  }
  const bridgeInterfaces = walkBridge(bridge, portByUuid, interfaceByUuid, input.config.ownershipKey);
  let names: NameIndex | undefined;
  const nameIndex = (): NameIndex => {
    if (names === undefined) {
      const interfaceByName = new Map<string, OvsInterface>();
      for (const iface of interfaceByUuid.values()) interfaceByName.set(iface.name, iface);
      const portNames = new Set<string>();
      for (const port of portByUuid.values()) portNames.add(port.name);
      names = { interfaceByName, portNames };
    }
    return names;
  };
  const bridgeInfo: IntegrationBridgeInfo | undefined =
    bridge === undefined
      ? undefined
      : {
          name: bridge.name,
          datapathType: bridge.datapathType ?? '',
          ovsOtherConfig: input.ovsOtherConfig ?? {},
        };
  return {
    bridgeFound: bridge !== undefined,
    ...(bridgeInfo === undefined ? {} : { bridgeInfo }),
    bridgeInterfaces,
    ownedByPort: bridgeInterfaces.owned,
    foreignByPort: bridgeInterfaces.foreign,
    names: nameIndex,
    ownedCount: bridgeInterfaces.ownedCount,
  };
}

/**
 * Indexes the interfaces of the bridge named `integrationBridge` (none when it is missing), for a
 * caller that has no plan yet (the status report before the first round that can plan).
 */
export function indexBridgeInterfaces(
  input: Pick<PlanInput, 'integrationBridge' | 'bridges' | 'ports' | 'interfaces'> & {
    readonly ownershipKey: OwnershipKey;
  },
): BridgeInterfaces {
  let bridge: OvsBridge | undefined;
  for (const candidate of input.bridges) if (candidate.name === input.integrationBridge) bridge = candidate;
  const portByUuid = new Map<string, OvsPort>();
  for (const port of input.ports) portByUuid.set(port.uuid, port);
  const interfaceByUuid = new Map<string, OvsInterface>();
  for (const iface of input.interfaces) interfaceByUuid.set(iface.uuid, iface);
  return walkBridge(bridge, portByUuid, interfaceByUuid, input.ownershipKey);
}

function walkBridge(
  bridge: OvsBridge | undefined,
  portByUuid: ReadonlyMap<string, OvsPort>,
  interfaceByUuid: ReadonlyMap<string, OvsInterface>,
  markerKey: OwnershipKey,
): BridgeInterfaces {
  const owned = new Map<string, OwnedInterface[]>();
  const foreign = new Map<string, OvsInterface[]>();
  let ownedCount = 0;
  for (const portUuid of bridge?.ports ?? []) {
    const port = portByUuid.get(portUuid);
    if (port === undefined) continue;
    for (const ifaceUuid of port.interfaces) {
      const iface = interfaceByUuid.get(ifaceUuid);
      if (iface === undefined) continue;
      const ifaceId = ownValue(iface.externalIds, IFACE_ID_KEY);
      if (ifaceId === undefined) continue;
      const marker = ownValue(iface.externalIds, markerKey);
      if (marker === undefined) {
        appendTo(foreign, ifaceId, iface);
      } else {
        appendTo(owned, ifaceId, { iface, port, plugType: marker });
        ownedCount += 1;
      }
    }
  }
  return { owned, foreign, ownedCount };
}

function appendTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function compareNames(a: OwnedInterface, b: OwnedInterface): number {
  return a.iface.name < b.iface.name ? -1 : a.iface.name > b.iface.name ? 1 : 0;
}

function existingOf(owned: OwnedInterface): NonNullable<PlugRequest['existing']> {
  return { name: owned.iface.name, type: owned.iface.type, options: owned.iface.options };
}

type BlockSink = (entry: BlockedPort) => void;

/**
 * Where a blocked removal is reported. An extra interface of a port that stays plugged is not a
 * state of that port: it becomes a warning, so the port's status is not overridden.
 */
function removalBlockSink(builder: PlanBuilder, candidate: RemovalCandidate): BlockSink {
  if (candidate.reason !== 'DuplicateInterface') return (entry) => builder.block(entry);
  return (entry) =>
    builder.warnings.push({
      logicalPort: entry.logicalPort,
      message: `second owned interface ${JSON.stringify(candidate.owned.iface.name)} is kept (${entry.reason}): ${entry.message}`,
    });
}

/**
 * Resolves a provider for `plugType`, or records why the port is blocked and returns undefined.
 */
function resolveProvider(
  input: PlanInput,
  block: BlockSink,
  plugType: string,
  blockedBase: Pick<BlockedPort, 'logicalPort' | 'operation' | 'interfaceUuid'>,
): PlugProvider | undefined {
  const found = input.providers(plugType);
  if (found === undefined) {
    block({
      ...blockedBase,
      plugType,
      state: 'Pending',
      reason: 'ProviderNotFound',
      message: `no provider is registered for vif-plug-type ${JSON.stringify(plugType)}`,
    });
    return undefined;
  }
  if (found.kind === 'unavailable') {
    block({
      ...blockedBase,
      plugType,
      state: 'Pending',
      reason: 'ProviderUnavailable',
      message: `provider ${JSON.stringify(plugType)} is unavailable: ${found.reason}`,
    });
    return undefined;
  }
  return found.provider;
}

/**
 * Asks the provider to `prepare`, recording a blocked entry for a throw, an invalid answer or a
 * not-now answer.
 */
function prepareOrBlock(
  block: BlockSink,
  provider: PlugProvider,
  request: PlugRequest,
  blockedBase: Pick<BlockedPort, 'logicalPort' | 'operation' | 'interfaceUuid' | 'plugType'>,
): PreparedPlug | undefined {
  const call = callPrepare(provider, request);
  if (!call.ok) {
    block({ ...blockedBase, state: 'Failed', reason: 'ProviderError', message: call.message });
    return undefined;
  }
  const answer = call.value;
  if (answer.kind === 'notNow') {
    const reason = answer.code !== undefined && answer.code !== '' ? answer.code : 'ProviderNotReady';
    block({
      ...blockedBase,
      state: answer.failed === true ? 'Failed' : 'Pending',
      reason,
      message: answer.reason,
    });
    return undefined;
  }
  return { provider, request, answer };
}

/** Prepares the removal of an owned interface; undefined when blocked (recorded). */
function prepareRemoval(
  input: PlanInput,
  builder: PlanBuilder,
  candidate: RemovalCandidate,
): PlannedRemove | undefined {
  const { owned, logicalPort } = candidate;
  const block = removalBlockSink(builder, candidate);
  const blockedBase = {
    logicalPort,
    operation: 'unplug' as const,
    interfaceUuid: owned.iface.uuid,
    plugType: owned.plugType,
  };
  if (!input.config.canRemove) {
    block({
      ...blockedBase,
      state: 'Pending',
      reason: 'AwaitingSync',
      message: `interface ${JSON.stringify(owned.iface.name)} is kept until both databases are synced`,
    });
    return undefined;
  }
  if (owned.port.interfaces.length !== 1) {
    block({
      ...blockedBase,
      state: 'Conflict',
      reason: 'SharedPort',
      message: `port ${JSON.stringify(owned.port.name)} holds ${owned.port.interfaces.length} interfaces; only a port with our interface alone is removed`,
    });
    return undefined;
  }
  const provider = resolveProvider(input, block, owned.plugType, blockedBase);
  if (provider === undefined) return undefined;
  const request: PlugRequest = {
    operation: 'remove',
    logicalPort,
    options: candidate.options,
    existing: existingOf(owned),
  };
  const prepared = prepareOrBlock(block, provider, request, blockedBase);
  if (prepared === undefined) return undefined;
  return {
    logicalPort,
    plugType: owned.plugType,
    interfaceUuid: owned.iface.uuid,
    interfaceName: owned.iface.name,
    portUuid: owned.port.uuid,
    reason: candidate.reason,
    prepared,
  };
}

/** `external_ids` key of ovn-controller's built-in plugging (ovn-vif), value = plug type. */
export const OVN_CONTROLLER_PLUGGED_KEY = 'ovn-plugged';

/**
 * The foreign-interface rule (DESIGN §3.4) and the coexistence modes (DESIGN §3.5a). Returns true
 * when the port may go on to its provider; otherwise the port's outcome is recorded. An unmarked
 * interface carrying the iface-id is a `Conflict` in either mode. One that ovn-controller's
 * built-in plugging marked `ovn-plugged` is, in plug mode, a `Conflict` naming ovn-controller
 * (the built-in took the port or won the race; its interface is left alone, so there stays one
 * interface per port) and, in observe mode, reported from its interface. In observe mode the
 * agent never asks the provider and never writes: with no built-in interface yet the port waits
 * for ovn-controller, and an interface the agent plugged earlier is kept as it is.
 */
function checkForeignInterfaces(
  input: PlanInput,
  index: OvsIndex,
  builder: PlanBuilder,
  binding: SbPortBinding,
  plugType: string,
  owned: readonly OwnedInterface[],
  blockedBase: Pick<BlockedPort, 'logicalPort' | 'operation' | 'plugType' | 'interfaceUuid'>,
): boolean {
  const logicalPort = binding.logicalPort;
  const observing = input.config.observePlugTypes?.has(plugType) === true;
  const foreign = index.foreignByPort.get(logicalPort) ?? [];
  const unmarked = foreign.find((f) => ownValue(f.externalIds, OVN_CONTROLLER_PLUGGED_KEY) === undefined);
  if (unmarked !== undefined) {
    builder.block({
      ...blockedBase,
      interfaceUuid: unmarked.uuid,
      state: 'Conflict',
      reason: 'ForeignInterface',
      message: `interface ${JSON.stringify(unmarked.name)} on ${input.integrationBridge} carries iface-id ${JSON.stringify(logicalPort)} without the ${input.config.ownershipKey} marker; it is left untouched`,
    });
    return false;
  }
  const builtIn = foreign[0];
  if (builtIn !== undefined) {
    const marker = ownValue(builtIn.externalIds, OVN_CONTROLLER_PLUGGED_KEY) ?? '';
    if (observing) {
      builder.observed.push({
        logicalPort,
        plugType,
        portBindingUuid: binding.uuid,
        interfaceUuid: builtIn.uuid,
        interfaceName: builtIn.name,
      });
    } else {
      builder.block({
        ...blockedBase,
        interfaceUuid: builtIn.uuid,
        state: 'Conflict',
        reason: 'PluggedByOvnController',
        message: `interface ${JSON.stringify(builtIn.name)} was plugged by ovn-controller's built-in plugging (external_ids:${OVN_CONTROLLER_PLUGGED_KEY}=${JSON.stringify(marker)}); the agent leaves it to ovn-controller (plug type ${JSON.stringify(plugType)} is in plug mode: observe it with --observe-plug-types, or hand it over with --ownership-marker=ovn-plugged)`,
      });
    }
    return false;
  }
  if (!observing) return true;
  const mine = owned[0];
  if (mine !== undefined) {
    builder.unchanged.push({
      logicalPort,
      plugType,
      portBindingUuid: binding.uuid,
      interfaceUuid: mine.iface.uuid,
      interfaceName: mine.iface.name,
    });
  } else {
    builder.block({
      ...blockedBase,
      state: 'Pending',
      reason: 'AwaitingOvnController',
      message: `plug type ${JSON.stringify(plugType)} is in observe mode: waiting for ovn-controller's built-in plugging to plug it (no interface on ${input.integrationBridge} carries iface-id ${JSON.stringify(logicalPort)} yet)`,
    });
  }
  return false;
}

/**
 * Plans one wanted port up to its provider's answer. Updates and unchanged ports are final here;
 * creates and replugs become candidates that still need the name checks.
 */
function planWantedPort(
  input: PlanInput,
  index: OvsIndex,
  builder: PlanBuilder,
  binding: SbPortBinding,
  plugType: string,
  removals: RemovalCandidate[],
  claims: (logicalPort: string) => (interfaceName: string) => boolean,
): PlugCandidate | undefined {
  const logicalPort = binding.logicalPort;
  const listed = index.ownedByPort.get(logicalPort) ?? [];
  const memo = input.memo;
  if (memo !== undefined && index.bridgeFound) {
    const found = input.providers(plugType);
    const steady = memo.replayable(
      binding,
      listed,
      index.foreignByPort.has(logicalPort),
      found?.kind === 'available' ? found.provider : undefined,
    );
    if (steady !== undefined) {
      replaySteady(builder, steady, false);
      return undefined;
    }
  }
  const owned = listed.length > 1 ? listed.slice().sort(compareNames) : listed;
  const first = owned[0];
  const blockedBase = {
    logicalPort,
    operation: 'plug' as const,
    plugType,
    ...(first ? { interfaceUuid: first.iface.uuid } : {}),
  };
  if (!index.bridgeFound) {
    builder.block({
      ...blockedBase,
      state: 'Pending',
      reason: 'IntegrationBridgeMissing',
      message: `integration bridge ${JSON.stringify(input.integrationBridge)} does not exist`,
    });
    return undefined;
  }
  if (!checkForeignInterfaces(input, index, builder, binding, plugType, owned, blockedBase)) return undefined;
  const provider = resolveProvider(input, (entry) => builder.block(entry), plugType, blockedBase);
  if (provider === undefined) return undefined;
  const maintained = callMaintained(provider);
  if (!maintained.ok) {
    builder.block({ ...blockedBase, state: 'Failed', reason: 'ProviderError', message: maintained.message });
    return undefined;
  }
  const mac = unicastMacOf(binding);
  const request: { -readonly [K in keyof PlugRequest]: PlugRequest[K] } = {
    operation: 'create',
    logicalPort,
    options: binding.options,
  };
  if (first !== undefined) request.existing = existingOf(first);
  if (mac !== undefined) request.mac = mac;
  if (index.bridgeInfo !== undefined) request.bridge = index.bridgeInfo;
  request.mayClaim = claims(logicalPort);
  const prepared = prepareOrBlock((entry) => builder.block(entry), provider, request, blockedBase);
  if (prepared === undefined) return undefined;
  for (const warning of prepared.answer.warnings ?? [])
    builder.warnings.push({ logicalPort, message: warning.message, code: warning.code, plugType });

  const keeper = owned.find((o) => o.iface.name === prepared.answer.name);
  if (keeper === undefined) {
    for (const extra of owned.slice(1))
      removals.push({ logicalPort, options: binding.options, owned: extra, reason: 'DuplicateInterface' });
    return {
      binding,
      plugType,
      prepared,
      ...(first ? { replacing: first } : {}),
    };
  }
  for (const extra of owned) {
    if (extra !== keeper)
      removals.push({ logicalPort, options: binding.options, owned: extra, reason: 'DuplicateInterface' });
  }
  const intent = {
    logicalPort,
    plugType,
    answer: prepared.answer,
    mtu: mtuRequestOf(binding.options),
    ownershipKey: input.config.ownershipKey,
  };
  const changes = interfaceChanges(keeper.iface, intent, maintained.value);
  if (changes === undefined) {
    const unchanged: UnchangedPort = {
      logicalPort,
      plugType,
      portBindingUuid: binding.uuid,
      interfaceUuid: keeper.iface.uuid,
      interfaceName: keeper.iface.name,
    };
    builder.unchanged.push(unchanged);
    builder.release.push(prepared);
    if (memo !== undefined && owned.length === 1 && !index.foreignByPort.has(logicalPort))
      memo.record({
        binding,
        owned: keeper,
        provider,
        unchanged,
        warnings: prepared.answer.warnings ?? [],
        ...(intent.mtu.kind === 'clear' && intent.mtu.invalid !== undefined
          ? { mtuWarning: intent.mtu.invalid.message }
          : {}),
      });
  } else {
    builder.update.push({
      logicalPort,
      plugType,
      portBindingUuid: binding.uuid,
      interfaceUuid: keeper.iface.uuid,
      portUuid: keeper.port.uuid,
      interface: interfaceAfterUpdate(keeper.iface, intent, maintained.value),
      changes,
      prepared,
    });
  }
  return undefined;
}

/** A create or replug whose removal half (if any) is prepared, waiting for the name checks. */
interface ClaimingCandidate extends PlugCandidate {
  readonly old?: PlannedRemove;
}

/**
 * Among candidates claiming the same new interface name, the one with the smallest logical port
 * name wins, so the outcome does not depend on input order.
 */
function nameWinners(candidates: Iterable<ClaimingCandidate>): Map<string, ClaimingCandidate> {
  const winners = new Map<string, ClaimingCandidate>();
  for (const candidate of candidates) {
    const name = candidate.prepared.answer.name;
    const current = winners.get(name);
    if (current === undefined || candidate.binding.logicalPort < current.binding.logicalPort) {
      winners.set(name, candidate);
    }
  }
  return winners;
}

/**
 * Names this plan frees by removing rows. Port and Interface names are separate unique indexes,
 * so a Port's name is free for a new Port even while an Interface of that name stays, and vice
 * versa.
 */
class FreedNames {
  readonly #interfaces = new Set<string>();
  readonly #ports = new Set<string>();

  add(owned: OwnedInterface): void {
    this.#interfaces.add(owned.iface.name);
    this.#ports.add(owned.port.name);
  }

  delete(owned: OwnedInterface): void {
    this.#interfaces.delete(owned.iface.name);
    this.#ports.delete(owned.port.name);
  }

  hasInterface(name: string): boolean {
    return this.#interfaces.has(name);
  }

  hasPort(name: string): boolean {
    return this.#ports.has(name);
  }
}

/** Who holds `name` (as an Interface or a Port) after this plan's removals, or undefined when nobody does. */
function nameHolder(index: OvsIndex, freed: FreedNames, name: string): string | undefined {
  const { interfaceByName, portNames } = index.names();
  const iface = interfaceByName.get(name);
  if (iface !== undefined && !freed.hasInterface(name)) {
    const owner = ownValue(iface.externalIds, IFACE_ID_KEY);
    return owner === undefined
      ? `interface ${JSON.stringify(name)}`
      : `interface ${JSON.stringify(name)} (iface-id ${JSON.stringify(owner)})`;
  }
  return portNames.has(name) && !freed.hasPort(name) ? `port ${JSON.stringify(name)}` : undefined;
}

/** Why `candidate` cannot take its name, or undefined when it can. */
function nameConflict(
  index: OvsIndex,
  freed: FreedNames,
  winners: ReadonlyMap<string, ClaimingCandidate>,
  candidate: ClaimingCandidate,
): Pick<BlockedPort, 'reason' | 'message'> | undefined {
  const name = candidate.prepared.answer.name;
  const winner = winners.get(name);
  if (winner !== undefined && winner !== candidate) {
    return {
      reason: 'DuplicateInterfaceName',
      message: `provider ${JSON.stringify(candidate.plugType)} names interface ${JSON.stringify(name)} for both ${JSON.stringify(winner.binding.logicalPort)} and ${JSON.stringify(candidate.binding.logicalPort)}`,
    };
  }
  const holder = nameHolder(index, freed, name);
  if (holder === undefined) return undefined;
  return {
    reason: 'InterfaceNameTaken',
    message: `cannot plug interface ${JSON.stringify(name)}: ${holder} already exists and is not ours for this port`,
  };
}

/**
 * An unwanted owned interface that stays this round although its port is not wanted: its removal
 * is held by the removal guard, or its provider postponed it. A wanted port may take it over.
 */
interface LingeringInterface {
  readonly logicalPort: string;
  readonly options: Readonly<Record<string, string>>;
  readonly owned: OwnedInterface;
  readonly hold?: HeldRemoval;
  /** Kept because the databases are not synced yet: nothing may take it over before. */
  readonly awaitingSync?: boolean;
}

/** Lingering interfaces by the names they hold (Interface name and Port name). */
class LingeringNames {
  readonly #byName = new Map<string, LingeringInterface>();

  add(entry: LingeringInterface): void {
    this.#byName.set(entry.owned.iface.name, entry);
    this.#byName.set(entry.owned.port.name, entry);
  }

  holderOf(name: string): LingeringInterface | undefined {
    return this.#byName.get(name);
  }

  delete(entry: LingeringInterface): void {
    this.#byName.delete(entry.owned.iface.name);
    this.#byName.delete(entry.owned.port.name);
  }
}

/**
 * A create whose interface name a lingering unwanted port holds becomes a take-over: one replug
 * that removes the unwanted port and plugs the wanted one (DESIGN §3.4, VF reuse) — when the
 * wanted request arrived within the current session. A request that came with a fresh sync waits
 * (`Pending`) for the hold, like the removal it would cause.
 */
function takeOverOrWait(
  input: PlanInput,
  builder: PlanBuilder,
  review: RemovalReview | undefined,
  candidate: ClaimingCandidate,
  lingering: LingeringInterface,
): ClaimingCandidate | undefined {
  const logicalPort = candidate.binding.logicalPort;
  if (lingering.awaitingSync === true) {
    builder.block({
      logicalPort,
      operation: 'plug',
      plugType: candidate.plugType,
      state: 'Pending',
      reason: 'AwaitingSync',
      message: `interface ${JSON.stringify(lingering.owned.iface.name)} belongs to ${JSON.stringify(lingering.logicalPort)}, which is no longer wanted; it is taken over once both databases are synced`,
    });
    builder.release.push(candidate.prepared);
    return undefined;
  }
  if (review !== undefined && !review.mayTakeOver(logicalPort)) {
    const until =
      lingering.hold === undefined
        ? 'its removal is postponed'
        : `its removal is held until ${new Date(lingering.hold.untilMs).toISOString()}`;
    builder.block({
      logicalPort,
      operation: 'plug',
      plugType: candidate.plugType,
      state: 'Pending',
      reason: 'InterfaceHeld',
      message: `interface ${JSON.stringify(lingering.owned.iface.name)} belongs to ${JSON.stringify(lingering.logicalPort)}, which is no longer wanted but ${until}; this request came with a Southbound resync, so it does not take the interface over before then`,
    });
    builder.release.push(candidate.prepared);
    return undefined;
  }
  const { owned } = lingering;
  const provider = input.providers(owned.plugType);
  let prepared: PreparedPlug | undefined;
  if (provider?.kind === 'available') {
    const request: PlugRequest = {
      operation: 'remove',
      logicalPort: lingering.logicalPort,
      options: lingering.options,
      existing: existingOf(owned),
    };
    const call = callPrepare(provider.provider, request);
    if (call.ok && call.value.kind === 'ready')
      prepared = { provider: provider.provider, request, answer: call.value };
  }
  if (lingering.hold === undefined) {
    // Its postponed removal was reported as blocked; it is being removed now instead.
    const at = builder.blocked.findIndex(
      (b) => b.logicalPort === lingering.logicalPort && b.operation === 'unplug',
    );
    if (at !== -1) builder.blocked.splice(at, 1);
  } else {
    const at = builder.held.findIndex((h) => h.logicalPort === lingering.logicalPort);
    if (at !== -1) builder.held.splice(at, 1);
  }
  const old: PlannedRemove = {
    logicalPort: lingering.logicalPort,
    plugType: owned.plugType,
    interfaceUuid: owned.iface.uuid,
    interfaceName: owned.iface.name,
    portUuid: owned.port.uuid,
    reason: 'TakenOver',
    ...(prepared === undefined ? {} : { prepared }),
  };
  return { ...candidate, replacing: owned, old };
}

/**
 * Settles creates and replugs against the unique Port/Interface names: names freed by this
 * plan's removals and replugs may be reused, but a blocked replug gives its name back, which can
 * block others in turn; blocking only ever shrinks the freed set, so this ends (usually after one
 * pass) with a set of claims a single transaction can commit. Before that, a create claiming the
 * name of a lingering unwanted interface takes it over or waits ({@link takeOverOrWait}).
 */
function settleNameClaims(
  input: PlanInput,
  index: OvsIndex,
  builder: PlanBuilder,
  candidates: readonly PlugCandidate[],
  freed: FreedNames,
  lingering: LingeringNames,
  review: RemovalReview | undefined,
): void {
  const live = new Set<ClaimingCandidate>();
  for (const candidate of candidates) {
    if (candidate.replacing === undefined) {
      live.add(candidate);
      continue;
    }
    const old = prepareRemoval(input, builder, {
      logicalPort: candidate.binding.logicalPort,
      options: candidate.binding.options,
      owned: candidate.replacing,
      reason: 'Replaced',
    });
    if (old === undefined) {
      builder.release.push(candidate.prepared);
      continue;
    }
    live.add({ ...candidate, old });
    freed.add(candidate.replacing);
  }
  const winners = nameWinners(live);
  for (const candidate of [...live]) {
    const name = candidate.prepared.answer.name;
    const holder = lingering.holderOf(name);
    if (holder === undefined || candidate.old !== undefined || winners.get(name) !== candidate) continue;
    if (holder.owned.port.interfaces.length !== 1) continue;
    live.delete(candidate);
    const taking = takeOverOrWait(input, builder, review, candidate, holder);
    if (taking === undefined) continue;
    live.add(taking);
    lingering.delete(holder);
    freed.add(holder.owned);
  }
  for (;;) {
    const winners = nameWinners(live);
    const losers: Array<[ClaimingCandidate, Pick<BlockedPort, 'reason' | 'message'>]> = [];
    for (const candidate of live) {
      const conflict = nameConflict(index, freed, winners, candidate);
      if (conflict !== undefined) losers.push([candidate, conflict]);
    }
    if (losers.length === 0) break;
    for (const [candidate, conflict] of losers) {
      live.delete(candidate);
      builder.block({
        logicalPort: candidate.binding.logicalPort,
        operation: 'plug',
        plugType: candidate.plugType,
        ...(candidate.replacing ? { interfaceUuid: candidate.replacing.iface.uuid } : {}),
        state: 'Conflict',
        ...conflict,
      });
      builder.release.push(candidate.prepared);
      if (candidate.old !== undefined && candidate.replacing !== undefined) {
        if (candidate.old.prepared !== undefined) builder.release.push(candidate.old.prepared);
        freed.delete(candidate.replacing);
      }
    }
  }
  for (const candidate of live) {
    const { binding, plugType, prepared } = candidate;
    const logicalPort = binding.logicalPort;
    const desired = interfaceForCreate({
      logicalPort,
      plugType,
      answer: prepared.answer,
      mtu: mtuRequestOf(binding.options),
      ownershipKey: input.config.ownershipKey,
    });
    if (candidate.old === undefined) {
      builder.create.push({
        logicalPort,
        plugType,
        portBindingUuid: binding.uuid,
        interface: desired,
        prepared,
      });
    } else {
      builder.replug.push({
        logicalPort,
        plugType,
        portBindingUuid: binding.uuid,
        old: candidate.old,
        interface: desired,
        prepared,
      });
    }
  }
}

/**
 * {@link PlugRequest.mayClaim}: whether `requester` may take the interface `name` in this plan —
 * free, its own, or held by an unwanted owned port whose removal goes now or that the requester may
 * take over (see {@link takeOverOrWait}). Anything else that carries the name stays.
 */
function mayClaim(
  input: PlanInput,
  index: OvsIndex,
  review: RemovalReview | undefined,
  unwanted: ReadonlySet<string>,
  requester: string,
  name: string,
): boolean {
  const iface = index.names().interfaceByName.get(name);
  if (iface === undefined) return true;
  const holder = ownValue(iface.externalIds, IFACE_ID_KEY);
  if (holder === requester) return true;
  if (holder === undefined || !unwanted.has(holder)) return false;
  if (ownValue(iface.externalIds, input.config.ownershipKey) === undefined) return false;
  if (!input.config.canRemove) return false;
  return review === undefined || !review.held.has(holder) || review.mayTakeOver(requester);
}

/**
 * Plans what to create, update, replug and remove so that the integration bridge holds exactly
 * one owned interface per wanted port. Pure apart from calling providers' `prepare()` (and the
 * removal guard's `review`, which keeps its own deterministic state).
 */
/** The port bindings as the planner reads them. */
export interface BindingView {
  readonly wanted: ReadonlyMap<string, SbPortBinding>;
  /** The keys of `wanted`: the same object while they are the same (the removal guard compares it). */
  readonly wantedNames: NameSet;
  /** How `wantedNames` differs from the previous view's. */
  readonly wantedChange?: WantedChange;
  readonly duplicated: ReadonlySet<string>;
  readonly unwantedOptions: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export function viewBindings(input: PlanInput): BindingView {
  const wanted = new Map<string, SbPortBinding>();
  const duplicated = new Set<string>();
  const unwantedOptions = new Map<string, Readonly<Record<string, string>>>();
  for (const binding of input.portBindings) {
    if (!isWantedHere(binding, input.chassisUuid)) {
      unwantedOptions.set(binding.logicalPort, binding.options);
      continue;
    }
    if (wanted.has(binding.logicalPort)) duplicated.add(binding.logicalPort);
    else wanted.set(binding.logicalPort, binding);
  }
  return { wanted, wantedNames: new Set(wanted.keys()), duplicated, unwantedOptions };
}

/**
 * Puts a steady port's outcome (PlanMemo) into the plan, with its provider's warnings and, for a
 * port the run does not visit, its MTU option's.
 */
function replaySteady(builder: PlanBuilder, steady: SteadyPort, withMtu: boolean): void {
  const { logicalPort, plugType } = steady.unchanged;
  if (withMtu && steady.mtuWarning !== undefined)
    builder.warnings.push({ logicalPort, message: steady.mtuWarning });
  builder.unchanged.push(steady.unchanged);
  for (const warning of steady.warnings)
    builder.warnings.push({ logicalPort, message: warning.message, code: warning.code, plugType });
}

export function planPorts(input: PlanInput): Plan {
  const builder = new PlanBuilder();
  const memo = input.memo;
  const run = memo?.start(input);
  const index = run?.index ?? indexOvs(input);
  const { wanted, wantedNames, wantedChange, duplicated, unwantedOptions } = run?.view ?? viewBindings(input);
  // With a memo, only the ports a change touched and those not steady are planned; the steady
  // ones are taken as they were (plan-memo.ts). An unwanted owned port is never steady.
  const only = run?.only;
  const planned: string[] = [];

  const removals: RemovalCandidate[] = [];
  const unwanted = new Set<string>();
  for (const logicalPort of only ?? index.ownedByPort.keys()) {
    const owned = index.ownedByPort.get(logicalPort);
    if (owned === undefined || wanted.has(logicalPort)) continue;
    unwanted.add(logicalPort);
    planned.push(logicalPort);
    const options = unwantedOptions.get(logicalPort) ?? {};
    for (const o of owned) removals.push({ logicalPort, options, owned: o, reason: 'NotWanted' });
  }
  const review = input.reviewRemovals?.({
    wanted: wantedNames,
    ...(wantedChange === undefined ? {} : { wantedChange }),
    unwanted,
    ownedCount: index.ownedCount,
  });
  const claims = (requester: string) => (interfaceName: string) =>
    mayClaim(input, index, review, unwanted, requester, interfaceName);

  const candidates: PlugCandidate[] = [];
  if (memo !== undefined && only !== undefined) {
    memo.replayOutside(only, (steady) => replaySteady(builder, steady, true));
  }
  for (const logicalPort of only ?? wanted.keys()) {
    const binding = wanted.get(logicalPort);
    if (binding === undefined) continue;
    planned.push(logicalPort);
    const plugType = plugTypeOf(binding.options) ?? '';
    if (duplicated.has(logicalPort)) {
      builder.block({
        logicalPort,
        operation: 'plug',
        plugType,
        state: 'Conflict',
        reason: 'DuplicatePortBinding',
        message: `more than one Port_Binding has logical_port ${JSON.stringify(logicalPort)}`,
      });
      continue;
    }
    const mtu = mtuRequestOf(binding.options);
    if (mtu.kind === 'clear' && mtu.invalid !== undefined) {
      builder.warnings.push({ logicalPort, message: mtu.invalid.message });
    }
    const candidate = planWantedPort(input, index, builder, binding, plugType, removals, claims);
    if (candidate !== undefined) candidates.push(candidate);
  }

  const freed = new FreedNames();
  const lingering = new LingeringNames();
  for (const candidate of removals) {
    // Before both databases are synced nothing is removed anyway: the state says AwaitingSync.
    const hold =
      candidate.reason === 'NotWanted' && input.config.canRemove
        ? review?.held.get(candidate.logicalPort)
        : undefined;
    if (hold !== undefined) {
      builder.held.push({
        logicalPort: candidate.logicalPort,
        plugType: candidate.owned.plugType,
        interfaceUuid: candidate.owned.iface.uuid,
        interfaceName: candidate.owned.iface.name,
        hold,
      });
      lingering.add({ ...candidate, hold });
      continue;
    }
    const planned = prepareRemoval(input, builder, candidate);
    if (planned !== undefined) {
      builder.remove.push(planned);
      freed.add(candidate.owned);
    } else if (candidate.reason === 'NotWanted') {
      // Postponed by its provider (or the provider is missing): a wanted port may still take it
      // over, once both databases are synced.
      lingering.add({ ...candidate, awaitingSync: !input.config.canRemove });
    }
  }

  settleNameClaims(input, index, builder, candidates, freed, lingering, review);
  memo?.finish(planned, only);

  return builder.build(index.bridgeInterfaces, only);
}
