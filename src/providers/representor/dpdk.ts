/**
 * The userspace-datapath forms of a representor answer (DESIGN §3.7, ADR 0053), pure.
 *
 * On a bridge whose `datapath_type` is `netdev`, a kernel netdev name plugs nothing: ovs-vswitchd
 * must open the representor as a DPDK port (`type=dpdk`). Two forms exist in the field:
 *
 * - *OVS-DOCA* (NVIDIA DOCA Platform Framework; the Open_vSwitch row has `other_config:doca-init`):
 *   the Interface is named after the representor netdev and has no `dpdk-devargs`; OVS-DOCA finds
 *   the representor by that name, as DPF's own CNI relies on.
 * - *upstream OVS-DPDK*: `options:dpdk-devargs=<eswitch PCI address>,representor=<spec>`, where
 *   the spec follows DPDK's representor grammar (ethdev "representor" device argument):
 *   `[c<controller>]pf<pf>` for a PF, `vf<n>`/`sf<n>` relative to PF 0 of controller 0, and
 *   `[c<controller>](pf<pf>)vf<n>` otherwise. DPDK attaches both PF *p* and the VF for the plain
 *   `pf<p>vf<n>`; the parentheses (DPDK 25.11 and later) attach the VF only. `plain` syntax emits
 *   `[c<controller>]pf<p>vf<n>` for DPDKs that do not know the parentheses. Controller 0 and PF 0
 *   are DPDK's defaults and are left out where that stays unambiguous.
 */
import type { DevlinkPort } from './devlink-json.js';

/** What the provider answers on a given bridge (`--representor-datapath`, default `auto`). */
export type RepresentorDatapathSetting = 'auto' | 'system' | 'dpdk' | 'doca';

/** The resolved form of one answer. */
export type RepresentorDatapathMode = 'system' | 'dpdk' | 'doca';

/** `exclusive` writes `(pf<p>)vf<n>` (attaches the VF only); `plain` writes `pf<p>vf<n>`. */
export type DpdkRepresentorSyntax = 'exclusive' | 'plain';

export const DPDK_DEVARGS_OPTION = 'dpdk-devargs';
export const DPDK_INTERFACE_TYPE = 'dpdk';

/** The function a representor stands for, as devlink numbers it. */
export interface RepresentorFunction {
  readonly controller: number;
  readonly pf: number;
  /** Absent for the PF representor. */
  readonly vf?: number;
  readonly sf?: number;
}

const TRUE_VALUES = new Set(['true', 'yes', 'on', '1']);

/**
 * Picks the form for a bridge. `auto`: a `netdev` bridge is userspace, and `doca-init` (any true
 * value, as OVS-DOCA reads it) selects the DOCA form over upstream OVS-DPDK.
 */
export function datapathMode(
  setting: RepresentorDatapathSetting,
  datapathType: string | undefined,
  ovsOtherConfig: Readonly<Record<string, string>> | undefined,
): RepresentorDatapathMode {
  if (setting !== 'auto') return setting;
  if (datapathType !== 'netdev') return 'system';
  const doca = ovsOtherConfig?.['doca-init']?.trim().toLowerCase();
  return doca !== undefined && TRUE_VALUES.has(doca) ? 'doca' : 'dpdk';
}

/** The devlink numbering of a PF/VF/SF port, or why it has none. */
export function representorFunction(port: DevlinkPort): RepresentorFunction | string {
  if (port.pfnum === undefined) return `devlink port ${port.handle} reports no pfnum`;
  const base = { controller: port.controller ?? 0, pf: port.pfnum };
  if (port.flavour === 'pcipf') return base;
  if (port.flavour === 'pcivf' && port.vfnum !== undefined) return { ...base, vf: port.vfnum };
  if (port.flavour === 'pcisf' && port.sfnum !== undefined) return { ...base, sf: port.sfnum };
  return `devlink port ${port.handle} is flavour ${JSON.stringify(port.flavour ?? '')}, not a PF, VF or SF with its number`;
}

/** One representor in DPDK's grammar (see the top of this file). */
export function dpdkRepresentorSpec(fn: RepresentorFunction, syntax: DpdkRepresentorSyntax): string {
  const controller = fn.controller === 0 ? '' : `c${fn.controller}`;
  const leaf = fn.vf !== undefined ? `vf${fn.vf}` : fn.sf !== undefined ? `sf${fn.sf}` : undefined;
  if (leaf === undefined) return `${controller}pf${fn.pf}`;
  if (fn.controller === 0 && fn.pf === 0) return leaf;
  return syntax === 'exclusive' ? `${controller}(pf${fn.pf})${leaf}` : `${controller}pf${fn.pf}${leaf}`;
}

const PCI_ADDRESS = /^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i;

/** `pci/0000:03:00.0` → `0000:03:00.0`; undefined for other buses (netdevsim, auxiliary…). */
export function pciAddressOf(device: string): string | undefined {
  const slash = device.indexOf('/');
  if (slash === -1 || device.slice(0, slash) !== 'pci') return undefined;
  const address = device.slice(slash + 1);
  return PCI_ADDRESS.test(address) ? address.toLowerCase() : undefined;
}

/** `0000:03:00.0,representor=(pf1)vf0`, or why the port cannot be named that way. */
export function dpdkDevargs(port: DevlinkPort, syntax: DpdkRepresentorSyntax): string | { problem: string } {
  const pci = pciAddressOf(port.device);
  if (pci === undefined) {
    return {
      problem: `devlink device ${port.device} is not a PCI device, so OVS-DPDK has no PCI address for "${DPDK_DEVARGS_OPTION}"`,
    };
  }
  const fn = representorFunction(port);
  if (typeof fn === 'string') return { problem: fn };
  return `${pci},representor=${dpdkRepresentorSpec(fn, syntax)}`;
}

/** One representor a DPDK spec names, with whether DPDK also attaches its PF. */
export interface ParsedRepresentor extends RepresentorFunction {
  /** True when DPDK attaches the PF representor too (plain `pf<p>vf<n>`). */
  readonly attachesPf: boolean;
}

const SPEC = /^(?:c(\d+))?(?:(\()?pf(\d+)(\))?)?(?:(vf|sf)(\d+))?$/;

/**
 * Reads a single-representor spec (no lists or ranges) the way DPDK's ethdev does, for tests and
 * for explaining an operator-written devargs. Returns a reason for what it cannot read.
 */
export function parseDpdkRepresentorSpec(spec: string): ParsedRepresentor | string {
  const match = SPEC.exec(spec);
  if (match === null || spec === '')
    return `not a single DPDK representor ([c<n>][(]pf<n>[)][vf<n>|sf<n>]): "${spec}"`;
  const [, controller, open, pf, close, kind, number] = match;
  if ((open === undefined) !== (close === undefined)) return `unbalanced parentheses in "${spec}"`;
  if (pf === undefined && kind === undefined) return `names neither a PF nor a VF/SF: "${spec}"`;
  if (open !== undefined && kind === undefined) return `"(pf<n>)" needs a VF or SF after it: "${spec}"`;
  if (controller !== undefined && pf === undefined) return `a controller needs a PF: "${spec}"`;
  const base = {
    controller: controller === undefined ? 0 : Number(controller),
    pf: pf === undefined ? 0 : Number(pf),
    attachesPf: pf !== undefined && open === undefined,
  };
  if (kind === 'vf') return { ...base, vf: Number(number) };
  if (kind === 'sf') return { ...base, sf: Number(number) };
  return { ...base, attachesPf: true };
}
