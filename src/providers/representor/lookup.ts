/**
 * From a logical port's options to a representor netdev (pure).
 *
 * Options (DESIGN §3.1, the names Neutron writes for remote-managed ports):
 * - `vif-plug:representor:pf-mac` (required): the host PF's MAC, any case, `xx:xx:xx:xx:xx:xx`.
 * - `vif-plug:representor:vf-num`: VF number under that PF; absent or empty → the PF representor.
 * - `vif-plug:representor:sf-num`: SF number under that PF (exclusive with vf-num).
 * The pre-21.12 spellings `plug:representor:*` are read when the new ones are absent.
 *
 * Every miss is a {@link NotNow} whose reason quotes the key and value at fault and says what is
 * known instead, and whose code is one of {@link RepresentorNotNowCode}.
 */
import type { LogicalPortOptions, NotNow } from '../../plug/index.js';
import type { FunctionPort, HostPf, PortTable } from './port-table.js';
import { lacksNetdev } from './port-table.js';
import type { DevlinkPort } from './devlink-json.js';

export const PF_MAC_OPTION = 'vif-plug:representor:pf-mac';
export const VF_NUM_OPTION = 'vif-plug:representor:vf-num';
export const SF_NUM_OPTION = 'vif-plug:representor:sf-num';

/** The codes this provider's not-now answers carry (stable: they become metric labels). */
export type RepresentorNotNowCode =
  | 'MissingPfMac'
  | 'MalformedPfMac'
  | 'MalformedVfNum'
  | 'MalformedSfNum'
  | 'ConflictingOptions'
  | 'NoPfRepresentors'
  | 'PfNotFound'
  | 'PfAmbiguous'
  | 'VfNotFound'
  | 'SfNotFound'
  | 'RenameInProgress'
  | 'ProgrammingMac'
  | 'RepresentorInUse'
  | 'MacProgrammingFailed'
  | 'NoDpdkDevargs'
  | 'MalformedPortFunctionOption'
  | 'ConfiguringPortFunction'
  | 'PortFunctionFailed'
  | 'PortFunctionMismatch'
  | 'SfOwnedByOtherPort'
  | 'SfAddUnavailable'
  | 'CreatingSf'
  | 'DeletingSf'
  | 'SfCreationFailed';

/** What a logical port asks for, after validation. */
export interface RepresentorSelector {
  /** Lower case. */
  readonly pfMac: string;
  readonly vfNum?: number;
  readonly sfNum?: number;
}

/** A representor found in the table. */
export interface RepresentorMatch {
  readonly kind: 'found';
  readonly pf: HostPf;
  /** The VF/SF when one was asked for; absent for the PF representor. */
  readonly function?: FunctionPort;
  /** The devlink port whose netdev is plugged. */
  readonly port: DevlinkPort;
  readonly netdev: string;
}

const MAC_PATTERN = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
const MAX_VF_NUM = 0xffff;
const MAX_SF_NUM = 0xffffffff;

export function notNow(code: RepresentorNotNowCode, reason: string): NotNow {
  return { kind: 'notNow', code, reason };
}

function option(options: LogicalPortOptions, key: string): string | undefined {
  const legacyKey = key.replace(/^vif-plug:/, 'plug:');
  return options[key] ?? options[legacyKey];
}

function parseNumber(
  key: string,
  value: string | undefined,
  max: number,
  code: RepresentorNotNowCode,
): number | undefined | NotNow {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (!/^\d+$/.test(text) || Number(text) > max) {
    return notNow(code, `option "${key}" is not an integer between 0 and ${max}: "${value}"`);
  }
  return Number(text);
}

/** Validates the representor options of a logical port. */
export function parseSelector(options: LogicalPortOptions): RepresentorSelector | NotNow {
  const pfMac = option(options, PF_MAC_OPTION);
  if (pfMac === undefined || pfMac.trim() === '') {
    return notNow(
      'MissingPfMac',
      `option "${PF_MAC_OPTION}" is ${pfMac === undefined ? 'missing' : 'empty'}: set it to the host PF's MAC address`,
    );
  }
  if (!MAC_PATTERN.test(pfMac.trim())) {
    return notNow(
      'MalformedPfMac',
      `option "${PF_MAC_OPTION}" is not a MAC address (xx:xx:xx:xx:xx:xx): "${pfMac}"`,
    );
  }
  const vfNum = parseNumber(VF_NUM_OPTION, option(options, VF_NUM_OPTION), MAX_VF_NUM, 'MalformedVfNum');
  if (typeof vfNum === 'object') return vfNum;
  const sfNum = parseNumber(SF_NUM_OPTION, option(options, SF_NUM_OPTION), MAX_SF_NUM, 'MalformedSfNum');
  if (typeof sfNum === 'object') return sfNum;
  if (vfNum !== undefined && sfNum !== undefined) {
    return notNow(
      'ConflictingOptions',
      `options "${VF_NUM_OPTION}" ("${vfNum}") and "${SF_NUM_OPTION}" ("${sfNum}") exclude each other: set one`,
    );
  }
  const selector: { pfMac: string; vfNum?: number; sfNum?: number } = { pfMac: pfMac.trim().toLowerCase() };
  if (vfNum !== undefined) selector.vfNum = vfNum;
  if (sfNum !== undefined) selector.sfNum = sfNum;
  return selector;
}

/** `0–3, 5, 7–8`: a compact list of known function numbers for reasons. */
export function formatNumberRanges(numbers: Iterable<number>): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start: number | undefined;
  let previous: number | undefined;
  for (const n of [...sorted, Number.NaN]) {
    if (start !== undefined && previous !== undefined && n === previous + 1) {
      previous = n;
      continue;
    }
    if (start !== undefined && previous !== undefined) {
      parts.push(start === previous ? `${start}` : `${start}–${previous}`);
    }
    start = n;
    previous = n;
  }
  return parts.join(', ');
}

/** `08:c0:eb:00:00:01 (pf0hpf, controller 1, pci/0000:03:00.0 pfnum 0)`. */
export function describePf(pf: HostPf): string {
  const mac = pf.mac ?? 'no MAC';
  return `${mac} (${pf.port.netdev ?? 'no netdev'}, controller ${pf.controller}, ${pf.device} pfnum ${pf.pfnum})`;
}

function pfNotFound(table: PortTable, pfMac: string): NotNow {
  if (table.pfs.length === 0) {
    const orphanHint =
      table.orphans.length > 0
        ? `; ${table.orphans.length} VF/SF ports exist without one: this looks like a host-side switchdev NIC, ` +
          'where host PFs have no representor (ovn-org/ovn#169); run the agent on the DPU/SmartNIC instead'
        : '';
    return notNow(
      'NoPfRepresentors',
      `no PF with MAC "${pfMac}": devlink shows no pcipf (host PF) ports at all (${table.portCount} ports)${orphanHint}`,
    );
  }
  const known = table.pfs.map(
    (pf) => describePf(pf) + (pf.macProblem === undefined ? '' : `: ${pf.macProblem}`),
  );
  return notNow('PfNotFound', `no PF with MAC "${pfMac}" (known PFs: ${known.join('; ')})`);
}

function renameInProgress(what: string, port: DevlinkPort): NotNow {
  const name = lacksNetdev(port) ? 'no netdev yet' : `provisional name "${port.netdev ?? ''}"`;
  return notNow(
    'RenameInProgress',
    `${what} has ${name} (devlink port ${port.handle}): netdev rename in progress, will plug when it settles`,
  );
}

function functionNotFound(pf: HostPf, kind: 'VF' | 'SF', number: number): NotNow {
  const known = kind === 'VF' ? pf.vfs : pf.sfs;
  const knownText =
    known.size === 0
      ? `no ${kind}s known${kind === 'VF' ? ': are VFs created on the host (sriov_numvfs)?' : ''}`
      : `${kind}s ${formatNumberRanges(known.keys())} known`;
  return notNow(
    kind === 'VF' ? 'VfNotFound' : 'SfNotFound',
    `${kind} ${number} not found under PF ${describePf(pf)} (${knownText})`,
  );
}

/**
 * Finds the representor a selector names.
 * @param isProvisional tells whether a port's current netdev name is still expected to change.
 */
export function lookupRepresentor(
  table: PortTable,
  selector: RepresentorSelector,
  isProvisional: (port: DevlinkPort) => boolean = lacksNetdev,
): RepresentorMatch | NotNow {
  const candidates = table.pfsByMac.get(selector.pfMac) ?? [];
  const pf = candidates[0];
  if (pf === undefined) return pfNotFound(table, selector.pfMac);
  if (candidates.length > 1) {
    return notNow(
      'PfAmbiguous',
      `MAC "${selector.pfMac}" is reported by ${candidates.length} PFs: ${candidates.map(describePf).join('; ')}`,
    );
  }
  let fn: FunctionPort | undefined;
  if (selector.vfNum !== undefined) {
    fn = pf.vfs.get(selector.vfNum);
    if (fn === undefined) return functionNotFound(pf, 'VF', selector.vfNum);
  } else if (selector.sfNum !== undefined) {
    fn = pf.sfs.get(selector.sfNum);
    if (fn === undefined) return functionNotFound(pf, 'SF', selector.sfNum);
  }
  const port = fn?.port ?? pf.port;
  const what =
    fn === undefined
      ? `PF representor of ${selector.pfMac}`
      : `${fn.flavour === 'pcivf' ? 'VF' : 'SF'} ${fn.number} representor under PF ${selector.pfMac}`;
  if (lacksNetdev(port) || isProvisional(port)) return renameInProgress(what, port);
  const match: { -readonly [K in keyof RepresentorMatch]: RepresentorMatch[K] } = {
    kind: 'found',
    pf,
    port,
    netdev: port.netdev ?? '',
  };
  if (fn !== undefined) match.function = fn;
  return match;
}
