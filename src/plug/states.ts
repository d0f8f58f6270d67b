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

/**
 * The CamelCase reasons the agent itself gives a port's state: the planner's (for ports it blocks)
 * and the status model's (src/agent/status/model.ts: from the OVS row and the transaction). Every
 * other reason comes from a provider.
 */
const AGENT_REASONS = {
  // The planner's.
  AwaitingSync: true,
  AwaitingOvnController: true,
  DuplicatePortBinding: true,
  DuplicateInterfaceName: true,
  ForeignInterface: true,
  IntegrationBridgeMissing: true,
  InterfaceHeld: true,
  InterfaceNameTaken: true,
  PluggedByOvnController: true,
  SharedPort: true,
  // The status model's.
  AdminDown: true,
  Bound: true,
  DeviceLinkDown: true,
  InterfaceError: true,
  LinkDown: true,
  NoOfport: true,
  Queued: true,
  RemovalHeld: true,
  TransactionFailed: true,
  TransactionInFlight: true,
  WaitingForOfport: true,
  WaitingForOvnController: true,
} as const satisfies Record<string, true>;

export type AgentReason = keyof typeof AGENT_REASONS;

/**
 * A reason that comes from a provider: the agent's words for a provider that is missing,
 * unavailable, failed or not ready without a code, or the provider's own not-now code (CamelCase,
 * free-form: counted per provider in `ovn_plug_provider_errors_total`).
 */
export type ProviderReason =
  | 'ProviderNotFound'
  | 'ProviderUnavailable'
  | 'ProviderError'
  | 'ProviderNotReady'
  | (string & { readonly providerCode?: never });

export type PortReason = AgentReason | ProviderReason;

/** Whether a state's reason came from a provider (as opposed to the agent, a conflict or OVS). */
export function isProviderReason(reason: PortReason): reason is ProviderReason {
  return !Object.hasOwn(AGENT_REASONS, reason);
}
