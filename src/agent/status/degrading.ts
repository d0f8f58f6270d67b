/**
 * Which ports degrade the node (DESIGN §3.5): the one rule shared by the alerts' metric
 * (`ovn_plug_ports_degrading`) and anything else that must agree with them.
 *
 * `Pending`, `Plugging`, `Plugged`, `Failed` and `Conflict` degrade (the alerts add the "beyond a
 * bound" part with their `for:`). `Bound`, `Down` (informational: a stopped VM takes its VF's link
 * down), `Unplugging` and any state added later do not, unless listed here. A port whose
 * interface ovn-controller's own plugging made never degrades, whatever its state (a `Conflict`
 * naming ovn-controller in plug mode, its observed state in observe mode, DESIGN §3.5a).
 */
import type { PortStatus } from './types.js';

/** The port states that can degrade the node, in vocabulary order. */
export const DEGRADING_STATES = ['Pending', 'Plugging', 'Plugged', 'Failed', 'Conflict'] as const;

export type DegradingState = (typeof DEGRADING_STATES)[number];

function isDegradingState(state: string): state is DegradingState {
  return (DEGRADING_STATES as readonly string[]).includes(state);
}

/** The state under which `port` degrades the node, or `undefined` when it does not. */
export function degradingState(port: PortStatus): DegradingState | undefined {
  if (port.pluggedByOvnController === true) return undefined;
  return isDegradingState(port.state) ? port.state : undefined;
}
