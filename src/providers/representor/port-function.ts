/**
 * Port-function configuration of a VF/SF (DESIGN §3.5, §3.7; ADR 0054), the pure part: which
 * attributes a logical port asks for, what the device reports, and how devlink's refusals read.
 *
 * Attributes use devlink's own words (`devlink port function set DEV/PORT_INDEX …`):
 * - `hw_addr`: the logical port's MAC (from `Port_Binding.mac`, not an option).
 * - `roce`, `migratable`: `vif-plug:representor:roce` / `…:migratable` = `enable` | `disable`;
 *   absent leaves the device's setting alone. iproute2 6.1 (Debian 12) has no such keywords and
 *   answers `Unknown option "roce"`: that, like a kernel or driver "not supported", is a warning on
 *   a port that otherwise works, never a reason to keep it down.
 */
import type { LogicalPortOptions, NotNow } from '../../plug/index.js';
import type { DevlinkPort } from './devlink-json.js';
import { notNow } from './lookup.js';

export type PortFunctionAttribute = 'hw_addr' | 'roce' | 'migratable' | 'state';

/** One attribute value the port asks for. */
export interface PortFunctionSetting {
  readonly attribute: PortFunctionAttribute;
  readonly value: string;
}

export const ROCE_OPTION = 'vif-plug:representor:roce';
export const MIGRATABLE_OPTION = 'vif-plug:representor:migratable';

const CAPABILITY_OPTIONS: readonly [string, PortFunctionAttribute][] = [
  [ROCE_OPTION, 'roce'],
  [MIGRATABLE_OPTION, 'migratable'],
];

/**
 * What devlink, the kernel or a driver says when an attribute cannot be set on this device or by
 * this devlink binary. "Unknown option" is iproute2's refusal of a keyword it predates.
 */
export const UNSUPPORTED_PATTERN =
  /not supported|unsupported|EOPNOTSUPP|doesn't support|does not support|unknown option|unrecognized option/i;

/** The settings a logical port asks for (MAC first), or a not-now naming the bad option. */
export function portFunctionSettings(
  options: LogicalPortOptions,
  mac: string | undefined,
): readonly PortFunctionSetting[] | NotNow {
  const settings: PortFunctionSetting[] = [];
  if (mac !== undefined) settings.push({ attribute: 'hw_addr', value: mac.toLowerCase() });
  for (const [key, attribute] of CAPABILITY_OPTIONS) {
    const raw = options[key];
    if (raw === undefined || raw.trim() === '') continue;
    const value = raw.trim().toLowerCase();
    if (value !== 'enable' && value !== 'disable') {
      return notNow('MalformedPortFunctionOption', `option "${key}" is not "enable" or "disable": "${raw}"`);
    }
    settings.push({ attribute, value });
  }
  return settings;
}

/** The value the device reports for an attribute (undefined: devlink prints none). */
export function reportedValue(port: DevlinkPort, attribute: PortFunctionAttribute): string | undefined {
  switch (attribute) {
    case 'hw_addr':
      return port.hwAddr;
    case 'roce':
      return port.functionRoce;
    case 'migratable':
      return port.functionMigratable;
    case 'state':
      return port.functionState;
  }
}

/** The port with the attribute as set (until devlink reports it back). */
export function withValue(port: DevlinkPort, setting: PortFunctionSetting): DevlinkPort {
  switch (setting.attribute) {
    case 'hw_addr':
      return { ...port, hwAddr: setting.value };
    case 'roce':
      return { ...port, functionRoce: setting.value };
    case 'migratable':
      return { ...port, functionMigratable: setting.value };
    case 'state':
      return { ...port, functionState: setting.value };
  }
}
