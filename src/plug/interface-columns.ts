/**
 * Pure helpers that turn a logical port's options and a provider's answer into the Interface
 * column values the agent writes (DESIGN §3.1, §3.2). The reconciler only translates these
 * values into transaction operations; every write rule lives here.
 */
import type { PlugReady } from './provider.js';
import type { OvsInterface } from './rows.js';

/** `Port_Binding.options` keys naming the provider type, preferred first (`plug-type` is the seed spelling). */
export const PLUG_TYPE_OPTION_KEYS = ['vif-plug-type', 'plug-type'] as const;

/** `Port_Binding.options` keys carrying the requested MTU, preferred first. */
export const MTU_REQUEST_OPTION_KEYS = ['vif-plug-mtu-request', 'plug-mtu-request'] as const;

/** `Interface.external_ids` key binding an interface to a logical port (read by ovn-controller). */
export const IFACE_ID_KEY = 'iface-id';

/**
 * `Interface.external_ids` keys that can mark an interface as plugged by us. `ovn-plug-agent` is
 * the default; `ovn-plugged` (ovn-controller's own marker) is the compatibility setting for
 * migrating from built-in plugging. The marker's value is the plug type.
 */
export const OWNERSHIP_KEYS = ['ovn-plug-agent', 'ovn-plugged'] as const;
export type OwnershipKey = (typeof OWNERSHIP_KEYS)[number];

/** Largest `mtu_request` accepted: upstream reads the option as a C `int`. */
export const MAX_MTU_REQUEST = 2_147_483_647;

/** Reads a record key only when it is the record's own property (never a prototype member). */
export function ownValue(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Sets an own, enumerable property, also for the key `__proto__` (a plain assignment would change the prototype). */
function setOwn(record: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}

/**
 * The provider type a logical port asks for, or `undefined` when it is not a plug request.
 * An empty value counts as absent.
 */
export function plugTypeOf(options: Readonly<Record<string, string>>): string | undefined {
  for (const key of PLUG_TYPE_OPTION_KEYS) {
    const value = ownValue(options, key);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** What `Interface.mtu_request` should hold. */
export type MtuRequest =
  | { readonly kind: 'set'; readonly value: number }
  | {
      readonly kind: 'clear';
      /** Present when an option was given but is not a usable value; names the key and the value. */
      readonly invalid?: { readonly key: string; readonly value: string; readonly message: string };
    };

const DECIMAL_INTEGER = /^[+-]?[0-9]+$/;

/**
 * Reads `vif-plug-mtu-request` (or `plug-mtu-request` when the former is absent). A decimal
 * integer in 1…{@link MAX_MTU_REQUEST} sets the column; absent, empty, non-numeric, ≤ 0 or too
 * large clears it, as upstream does (the invalid cases are reported).
 */
export function mtuRequestOf(options: Readonly<Record<string, string>>): MtuRequest {
  for (const key of MTU_REQUEST_OPTION_KEYS) {
    const raw = ownValue(options, key);
    if (raw === undefined) continue;
    const text = raw.trim();
    if (text === '') return { kind: 'clear' };
    const value = DECIMAL_INTEGER.test(text) ? Number(text) : Number.NaN;
    if (Number.isSafeInteger(value) && value >= 1 && value <= MAX_MTU_REQUEST) {
      return { kind: 'set', value };
    }
    const message = `${key} ${JSON.stringify(raw)} is not an integer in 1..${MAX_MTU_REQUEST}; mtu_request is cleared`;
    return { kind: 'clear', invalid: { key, value: raw, message } };
  }
  return { kind: 'clear' };
}

/** Full desired column values of an Interface row we own. */
export interface DesiredInterface {
  /** `name`; the Port row gets the same name on create. */
  readonly name: string;
  /** `type`; `""` is a system interface (e.g. a representor netdev). */
  readonly type: string;
  /** `options` after the maintained-options merge (whole column). */
  readonly options: Readonly<Record<string, string>>;
  /** `external_ids` with `iface-id` and the ownership marker merged in (whole column). */
  readonly externalIds: Readonly<Record<string, string>>;
  /** `mtu_request`; absent means the column is empty. */
  readonly mtuRequest?: number;
}

/** Column-level differences between an existing Interface row and its desired values. */
export interface InterfaceChanges {
  /** New `type`, when it differs. */
  readonly type?: string;
  /** `options` keys to insert or overwrite. */
  readonly setOptions: Readonly<Record<string, string>>;
  /** `options` keys to delete (maintained keys the provider no longer returns). */
  readonly deleteOptions: readonly string[];
  /** `external_ids` keys to insert or overwrite; no key is ever deleted. */
  readonly setExternalIds: Readonly<Record<string, string>>;
  /** Present when `mtu_request` changes: the new value, or `clear`. */
  readonly mtuRequest?: { readonly kind: 'set'; readonly value: number } | { readonly kind: 'clear' };
}

/** Inputs shared by {@link interfaceForCreate} and {@link interfaceForUpdate}. */
export interface InterfaceIntent {
  readonly logicalPort: string;
  readonly plugType: string;
  readonly answer: PlugReady;
  readonly mtu: MtuRequest;
  readonly ownershipKey: OwnershipKey;
}

/**
 * Column values of a new Interface: the provider's name, type and all of its options (upstream
 * writes every returned option on create), `iface-id` + marker, and `mtu_request`.
 */
export function interfaceForCreate(intent: InterfaceIntent): DesiredInterface {
  const base = {
    name: intent.answer.name,
    type: intent.answer.type ?? '',
    options: { ...intent.answer.options },
    externalIds: { [IFACE_ID_KEY]: intent.logicalPort, [intent.ownershipKey]: intent.plugType },
  };
  return intent.mtu.kind === 'set' ? { ...base, mtuRequest: intent.mtu.value } : base;
}

/**
 * Merges the provider's answer into existing options: each maintained key is set to the
 * provider's value or deleted when the provider does not return it; every other key, including
 * non-maintained keys the provider returned, is left as it is.
 */
export function mergeMaintainedOptions(
  current: Readonly<Record<string, string>>,
  answerOptions: Readonly<Record<string, string>>,
  maintained: readonly string[],
): Record<string, string> {
  const merged: Record<string, string> = { ...current };
  for (const key of maintained) {
    const wanted = ownValue(answerOptions, key);
    if (wanted === undefined) delete merged[key];
    else setOwn(merged, key, wanted);
  }
  return merged;
}

/**
 * What must change on an owned Interface whose name already matches the answer, or undefined
 * when it is up to date: type from the provider (absent → `""`), maintained options set or
 * deleted, `iface-id` + marker (no other `external_ids` key is touched), and `mtu_request`
 * (cleared when not requested). Allocates nothing in the up-to-date case.
 */
export function interfaceChanges(
  existing: OvsInterface,
  intent: InterfaceIntent,
  maintained: readonly string[],
): InterfaceChanges | undefined {
  const type = intent.answer.type ?? '';
  let setOptions: Record<string, string> | undefined;
  let deleteOptions: string[] | undefined;
  for (const key of maintained) {
    const wanted = ownValue(intent.answer.options, key);
    const have = ownValue(existing.options, key);
    if (wanted === undefined) {
      if (have !== undefined) (deleteOptions ??= []).push(key);
    } else if (have !== wanted) {
      setOwn((setOptions ??= {}), key, wanted);
    }
  }
  let setExternalIds: Record<string, string> | undefined;
  if (ownValue(existing.externalIds, IFACE_ID_KEY) !== intent.logicalPort) {
    setOwn((setExternalIds ??= {}), IFACE_ID_KEY, intent.logicalPort);
  }
  if (ownValue(existing.externalIds, intent.ownershipKey) !== intent.plugType) {
    setOwn((setExternalIds ??= {}), intent.ownershipKey, intent.plugType);
  }
  let mtuRequest: InterfaceChanges['mtuRequest'];
  if (intent.mtu.kind === 'set') {
    if (existing.mtuRequest !== intent.mtu.value) mtuRequest = { kind: 'set', value: intent.mtu.value };
  } else if (existing.mtuRequest !== undefined) {
    mtuRequest = { kind: 'clear' };
  }
  const typeChanged = type !== existing.type;
  if (!typeChanged && !setOptions && !deleteOptions && !setExternalIds && mtuRequest === undefined)
    return undefined;
  return {
    ...(typeChanged ? { type } : {}),
    setOptions: setOptions ?? {},
    deleteOptions: deleteOptions ?? [],
    setExternalIds: setExternalIds ?? {},
    ...(mtuRequest !== undefined ? { mtuRequest } : {}),
  };
}

/**
 * The whole columns of an owned Interface after applying {@link interfaceChanges}: the
 * existing row with the maintained options merged, `iface-id` + marker merged into
 * `external_ids`, the provider's type and the requested `mtu_request`.
 */
export function interfaceAfterUpdate(
  existing: OvsInterface,
  intent: InterfaceIntent,
  maintained: readonly string[],
): DesiredInterface {
  const externalIds: Record<string, string> = { ...existing.externalIds };
  setOwn(externalIds, IFACE_ID_KEY, intent.logicalPort);
  setOwn(externalIds, intent.ownershipKey, intent.plugType);
  const base = {
    name: existing.name,
    type: intent.answer.type ?? '',
    options: mergeMaintainedOptions(existing.options, intent.answer.options, maintained),
    externalIds,
  };
  return intent.mtu.kind === 'set' ? { ...base, mtuRequest: intent.mtu.value } : base;
}
