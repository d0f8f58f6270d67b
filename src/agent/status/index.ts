/** Public surface of src/agent/status: the per-port status model, the status shapes and their tables. */
export { DEGRADING_STATES, degradingState, type DegradingState } from './degrading.js';
export {
  derivePortState,
  PortStatusModel,
  type InterfaceFacts,
  type PortFacts,
  type PortObservation,
  type PortPhase,
  type PortStatusModelOptions,
  type PortTransition,
} from './model.js';
export { formatAge, formatProvidersTable, formatStatusTable } from './table.js';
export {
  isPluggedByOvnController,
  PLUGGED_BY_OVN_CONTROLLER,
  type AgentStatus,
  type DbConnectionState,
  type DbStatus,
  type HeldPort,
  type InventoryEntry,
  type PortStatus,
  type ProviderInventoryReport,
  type ProviderStatus,
  type StatusAnswer,
} from './types.js';
