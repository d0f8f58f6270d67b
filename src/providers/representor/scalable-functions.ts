/**
 * Scalable functions the representor provider creates on request (DESIGN §3.7, ADR 0056), the
 * pure part: option keys, SF identity, and the devlink command lines.
 *
 * A logical port asks for an SF to be created with `vif-plug:representor:sf-add=true` next to the
 * selector (`pf-mac` + `sf-num`, devlink's `sfnum`). The provider then runs, in devlink's words:
 * `devlink port add <pf device> flavour pcisf pfnum <pf> sfnum <sf> [controller <c>]`, sets the
 * function's `hw_addr` to the port's MAC and its `state` to `active`, and plugs the SF
 * representor; on unplug `state inactive` and `devlink port del`. Only SFs recorded as created
 * by the agent (see {@link SfIntentStore}) are ever deleted.
 */
import type { LogicalPortOptions } from '../../plug/index.js';
import type { HostPf } from './port-table.js';

export const SF_ADD_OPTION = 'vif-plug:representor:sf-add';

/** One SF the agent created (or is about to): its identity and the logical port it is for. */
export interface SfRecord {
  /** `<pf id>/sf<n>`, e.g. `pci/0000:03:00.0/c1/pf0/sf88`. */
  readonly id: string;
  readonly logicalPort: string;
}

/**
 * Durable records of created SFs, written by the agent into the OVS DB. `record` resolves only
 * once the record is committed, so it always precedes `devlink port add`.
 */
export interface SfIntentStore {
  list(): readonly SfRecord[];
  record(record: SfRecord): Promise<void>;
  forget(id: string): Promise<void>;
}

const TRUE = new Set(['true', 'yes', '1', 'enable']);

/** True when the port asks the provider to create its SF. */
export function wantsSfAdd(options: LogicalPortOptions): boolean {
  const value = options[SF_ADD_OPTION]?.trim().toLowerCase();
  return value !== undefined && TRUE.has(value);
}

export function sfId(pf: Pick<HostPf, 'id'>, sfNum: number): string {
  return `${pf.id}/sf${sfNum}`;
}

/** `port add <device> flavour pcisf pfnum <pf> sfnum <sf> [controller <c>]`. */
export function sfAddArgs(pf: Pick<HostPf, 'device' | 'controller' | 'pfnum'>, sfNum: number): string[] {
  const args = [
    'port',
    'add',
    pf.device,
    'flavour',
    'pcisf',
    'pfnum',
    String(pf.pfnum),
    'sfnum',
    String(sfNum),
  ];
  if (pf.controller !== 0) args.push('controller', String(pf.controller));
  return args;
}
