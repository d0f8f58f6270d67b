/**
 * The sysfs fallback for a host PF's MAC (mlx5's SmartNIC compat interface).
 *
 * `<sysfsRoot>/class/net/<uplink>/smart_nic/pf/config` holds `Key : value` lines; the one that
 * matters is `MAC        : 0c:42:a1:00:00:01` (other lines such as `MaxTxRate` and `State` are
 * ignored). Drivers that expose host PFs through devlink without a function `hw_addr` still
 * provide this file on BlueField.
 */
import { join } from 'node:path';

const MAC_LINE = /^\s*MAC\s*:\s*([0-9a-f]{2}(?::[0-9a-f]{2}){5})\s*$/im;
const ZERO_MAC = /^(?:00:)+00$/;

export function smartNicPfConfigPath(sysfsRoot: string, uplink: string): string {
  return join(sysfsRoot, 'class', 'net', uplink, 'smart_nic', 'pf', 'config');
}

/** The MAC in a `smart_nic/pf/config` file (lower case), or undefined when it has none. */
export function parseSmartNicPfConfig(text: string): string | undefined {
  const mac = MAC_LINE.exec(text)?.[1]?.toLowerCase();
  return mac === undefined || ZERO_MAC.test(mac) ? undefined : mac;
}
