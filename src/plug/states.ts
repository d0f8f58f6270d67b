/**
 * Port state vocabulary (DESIGN §3.5), used verbatim by metrics, `/status`, the CLI, node
 * conditions and the per-port custom resources.
 */
export const PORT_STATES = [
  'Pending',
  'Plugging',
  'Plugged',
  'Bound',
  'Down',
  'Failed',
  'Conflict',
  'Unplugging',
] as const;

export type PortState = (typeof PORT_STATES)[number];
