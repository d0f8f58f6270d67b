/**
 * The representor port table (pure): devlink ports grouped by host PF.
 *
 * A host PF is identified by (devlink device, controller, pfnum). Its representor is the `pcipf`
 * port; its VFs and SFs are the `pcivf`/`pcisf` ports with the same triple. Keeping the
 * controller in the key is what keeps an external host's ports (controller 1 on BlueField) apart
 * from the DPU's own (controller 0) when both use pfnum 0 on one device.
 *
 * The PF's MAC address is the pcipf port's function `hw_addr`. Some drivers report none (or all
 * zeros); then the MAC comes from the uplink's `smart_nic/pf/config` in sysfs, read by the caller
 * and passed in as `fallbackMacs` (keyed by uplink netdev, see {@link uplinkForPf}).
 */
import type { DevlinkPort } from './devlink-json.js';

export type FunctionFlavour = 'pcivf' | 'pcisf';

/** A VF or SF representor port. */
export interface FunctionPort {
  readonly flavour: FunctionFlavour;
  /** VF number (pcivf) or SF number (pcisf). */
  readonly number: number;
  readonly port: DevlinkPort;
}

/** Where a PF's MAC address came from. */
export type PfMacSource = 'devlink' | 'sysfs' | 'none';

/** A host PF with its representor and its VF/SF representors. */
export interface HostPf {
  /** `<device>/c<controller>/pf<pfnum>`, stable while the hardware is. */
  readonly id: string;
  readonly device: string;
  readonly controller: number;
  readonly pfnum: number;
  /** The pcipf representor port. */
  readonly port: DevlinkPort;
  /** Lower-case MAC, absent when neither devlink nor sysfs gave one. */
  readonly mac?: string;
  readonly macSource: PfMacSource;
  /** Why there is no MAC, for operators (e.g. the sysfs path that could not be read). */
  readonly macProblem?: string;
  readonly vfs: ReadonlyMap<number, FunctionPort>;
  readonly sfs: ReadonlyMap<number, FunctionPort>;
}

/** The MAC a sysfs fallback produced for one uplink netdev, or why it failed. */
export type FallbackMac = { readonly mac: string } | { readonly problem: string };

export interface PortTable {
  readonly pfs: readonly HostPf[];
  /** PFs by lower-case MAC (an array: two PFs reporting one MAC is a configuration error). */
  readonly pfsByMac: ReadonlyMap<string, readonly HostPf[]>;
  /** VF/SF ports whose PF has no pcipf port (a host-side switchdev NIC, ovn-org/ovn#169). */
  readonly orphans: readonly FunctionPort[];
  /** Number of devlink ports the table was built from. */
  readonly portCount: number;
}

const ZERO_MAC = /^(?:00:)+00$/;

export function pfId(device: string, controller: number, pfnum: number): string {
  return `${device}/c${controller}/pf${pfnum}`;
}

function isUsableMac(mac: string | undefined): mac is string {
  return mac !== undefined && !ZERO_MAC.test(mac);
}

/**
 * The uplink (`physical` port netdev) whose sysfs `smart_nic/pf/config` describes this PF: on the
 * PF's devlink device, the physical port numbered like the PF, else the device's only physical
 * port.
 */
export function uplinkForPf(ports: readonly DevlinkPort[], pf: DevlinkPort): string | undefined {
  const physical = ports.filter(
    (port) => port.device === pf.device && port.flavour === 'physical' && port.netdev !== undefined,
  );
  const sameNumber = physical.find((port) => port.portNumber === pf.pfnum);
  const chosen = sameNumber ?? (physical.length === 1 ? physical[0] : undefined);
  return chosen?.netdev;
}

/** The pcipf ports whose MAC must come from sysfs, with the uplink netdev to read it from. */
export function pfsNeedingFallbackMac(
  ports: readonly DevlinkPort[],
): readonly { readonly pf: DevlinkPort; readonly uplink: string | undefined }[] {
  return ports
    .filter((port) => port.flavour === 'pcipf' && !isUsableMac(port.hwAddr))
    .map((pf) => ({ pf, uplink: uplinkForPf(ports, pf) }));
}

function functionPort(port: DevlinkPort): FunctionPort | undefined {
  if (port.flavour === 'pcivf' && port.vfnum !== undefined) {
    return { flavour: 'pcivf', number: port.vfnum, port };
  }
  if (port.flavour === 'pcisf' && port.sfnum !== undefined) {
    return { flavour: 'pcisf', number: port.sfnum, port };
  }
  return undefined;
}

interface MutablePf {
  id: string;
  device: string;
  controller: number;
  pfnum: number;
  port: DevlinkPort;
  mac?: string;
  macSource: PfMacSource;
  macProblem?: string;
  vfs: Map<number, FunctionPort>;
  sfs: Map<number, FunctionPort>;
}

function resolvePfMac(
  pf: MutablePf,
  ports: readonly DevlinkPort[],
  fallbackMacs: ReadonlyMap<string, FallbackMac>,
): void {
  if (isUsableMac(pf.port.hwAddr)) {
    pf.mac = pf.port.hwAddr;
    pf.macSource = 'devlink';
    return;
  }
  const uplink = uplinkForPf(ports, pf.port);
  if (uplink === undefined) {
    pf.macProblem = `devlink reports no function hw_addr and no physical uplink port is known on ${pf.device}`;
    return;
  }
  const fallback = fallbackMacs.get(uplink);
  if (fallback === undefined) {
    pf.macProblem = `devlink reports no function hw_addr and the sysfs fallback of ${uplink} was not read yet`;
  } else if ('mac' in fallback) {
    pf.mac = fallback.mac;
    pf.macSource = 'sysfs';
  } else {
    pf.macProblem = `devlink reports no function hw_addr and ${fallback.problem}`;
  }
}

/** Builds the table from a complete set of devlink ports (a dump with monitor events applied). */
export function buildPortTable(
  ports: readonly DevlinkPort[],
  fallbackMacs: ReadonlyMap<string, FallbackMac> = new Map(),
): PortTable {
  const byId = new Map<string, MutablePf>();
  for (const port of ports) {
    if (port.flavour !== 'pcipf' || port.pfnum === undefined) continue;
    const controller = port.controller ?? 0;
    const id = pfId(port.device, controller, port.pfnum);
    const pf: MutablePf = {
      id,
      device: port.device,
      controller,
      pfnum: port.pfnum,
      port,
      macSource: 'none',
      vfs: new Map(),
      sfs: new Map(),
    };
    resolvePfMac(pf, ports, fallbackMacs);
    byId.set(id, pf);
  }
  const orphans: FunctionPort[] = [];
  for (const port of ports) {
    const fn = functionPort(port);
    if (fn === undefined || port.pfnum === undefined) continue;
    const pf = byId.get(pfId(port.device, port.controller ?? 0, port.pfnum));
    if (pf === undefined) orphans.push(fn);
    else (fn.flavour === 'pcivf' ? pf.vfs : pf.sfs).set(fn.number, fn);
  }
  const pfs = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  const pfsByMac = new Map<string, HostPf[]>();
  for (const pf of pfs) {
    if (pf.mac === undefined) continue;
    const list = pfsByMac.get(pf.mac) ?? [];
    list.push(pf);
    pfsByMac.set(pf.mac, list);
  }
  return { pfs, pfsByMac, orphans, portCount: ports.length };
}

/** The kernel's provisional netdev name, which udev normally replaces within moments. */
export const PROVISIONAL_NETDEV_NAME = /^eth\d+$/;

/**
 * True while a port has no netdev yet (type `notset`: being created or going away). Whether a
 * provisional `eth<N>` name is still expected to change is the caller's decision: only the caller
 * knows when the name appeared (see the provider's rename settle time).
 */
export function lacksNetdev(port: DevlinkPort): boolean {
  return port.netdev === undefined || port.netdev === '';
}
