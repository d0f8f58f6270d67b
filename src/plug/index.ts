export type {
  ExistingInterface,
  InventoryItem,
  LogicalPortOptions,
  NotNow,
  PlugAnswer,
  PlugProvider,
  PlugReady,
  PlugRequest,
  ProviderContext,
  ProviderInventory,
  ProviderLogger,
} from './provider.js';
export { PORT_STATES, type PortState } from './states.js';
export type { OvsBridge, OvsInterface, OvsPort, SbPortBinding } from './rows.js';
export {
  IFACE_ID_KEY,
  MAX_MTU_REQUEST,
  MTU_REQUEST_OPTION_KEYS,
  OWNERSHIP_KEYS,
  PLUG_TYPE_OPTION_KEYS,
  interfaceAfterUpdate,
  interfaceChanges,
  interfaceForCreate,
  mergeMaintainedOptions,
  mtuRequestOf,
  ownValue,
  plugTypeOf,
  type DesiredInterface,
  type InterfaceChanges,
  type InterfaceIntent,
  type MtuRequest,
  type OwnershipKey,
} from './interface-columns.js';
export {
  isEmptyPlan,
  isWantedHere,
  OVN_CONTROLLER_PLUGGED_KEY,
  planPorts,
  unicastMacOf,
  type BlockedPort,
  type BlockedState,
  type Plan,
  type PlanInput,
  type PlanWarning,
  type PlannedCreate,
  type PlannedRemove,
  type PlannedReplug,
  type PlannedUpdate,
  type ObservedPort,
  type PlannerConfig,
  type PreparedPlug,
  type ProviderLookup,
  type ProviderLookupResult,
  type RemovalReason,
  type UnchangedPort,
} from './planner.js';
export { decideRemovalHold, type RemovalHoldDecision, type RemovalHoldInput } from './removal-hold.js';
export {
  ProviderRegistry,
  type ProviderRegistryOptions,
  type ProviderRunFailure,
  type ProviderState,
  type RunAllResult,
} from './registry.js';
export {
  DuplicateProviderError,
  InvalidProviderError,
  ProviderRegistryError,
  UnknownProviderError,
} from './errors.js';
export { systemClock, systemTimers, type Clock, type Timer, type Timers } from './clock.js';
