/** Public surface of src/agent (the Kubernetes sinks have their own index in ./kube). */
export {
  parseCommandLine,
  resolveFromOpenVswitch,
  parseDuration,
  parseListen,
  checkRemote,
  parseRemoteList,
  envNameOf,
  usage,
  BUILTIN_PROVIDERS,
  DEFAULT_OVS_DB,
  DEFAULT_LISTEN,
  DEFAULT_INTEGRATION_BRIDGE,
} from './config.js';
export type {
  Command,
  Config,
  ListenAddress,
  LogLevel,
  OwnershipMarker,
  ParseResult,
  ResolveResult,
  ResolvedConfig,
  TlsFiles,
} from './config.js';
export { startAgent, runCli, AGENT_VERSION, OVS_MONITOR_TABLES, sbMonitorTables } from './main.js';
export type { AgentHandle, AgentOptions, CliIo } from './main.js';
export { Reconciler } from './reconciler.js';
export type {
  OvsReplica,
  ProviderSource,
  ReconcilerOptions,
  RemovalHoldPolicy,
  Replica,
  SbReplica,
} from './reconciler-options.js';
export { OvsWriter, logCommitted, workOf } from './ovs-writer.js';
export { planRows } from './replica-rows.js';
export type { OvsWriterOptions, TxnWork, UnsureTxn, WorkItem, Written } from './ovs-writer.js';
export { DEFAULT_QUARANTINE_POLICY, Quarantine } from './quarantine.js';
export type { QuarantinePolicy, Selection } from './quarantine.js';
export { inFlightPorts, StatusFacts, withInFlight } from './status-facts.js';
export type { InFlightPorts, StatusFactsOptions } from './status-facts.js';
export { StatusReporter } from './status-reporter.js';
export type { StatusHeader, StatusReporterOptions } from './status-reporter.js';
export { ChassisTracker } from './chassis-tracker.js';
export type { ChassisTrackerOptions } from './chassis-tracker.js';
export { answersOf, finishAnswers, releaseAnswers, runProviders, UnsureAnswers } from './provider-calls.js';
export { AgentMetrics } from './metrics.js';
export type { DbName, ReplanTrigger, TransactionOutcomeLabel } from './metrics.js';
export { startHttpServer, readiness, formatHostPort } from './http.js';
export type { HealthReport, HttpHandlers, HttpServerHandle } from './http.js';
export { noopLogger, RateLimitedLog } from './logger.js';
export type { Logger, LogLevelName } from './logger.js';
export { derivePortState, PortStatusModel } from './status/index.js';
export type {
  InterfaceFacts,
  PortFacts,
  PortObservation,
  PortPhase,
  PortTransition,
} from './status/index.js';
export { formatStatusTable, formatProvidersTable, formatAge } from './status/index.js';
export { isPluggedByOvnController, PLUGGED_BY_OVN_CONTROLLER } from './status/index.js';
export type {
  AgentStatus,
  DbConnectionState,
  DbStatus,
  InventoryEntry,
  PortStatus,
  ProviderInventoryReport,
  ProviderStatus,
} from './status/index.js';
export { CardSerialPublisher, mergeCardSerial, parseVpdSerial, vpdPath } from './card-serial.js';
export type { CardSerialState, CardSerialStatus, CmsOptionsMerge, VpdSerial } from './card-serial.js';
