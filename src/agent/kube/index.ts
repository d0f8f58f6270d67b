/**
 * Kubernetes status sinks: node conditions, PortPlug objects, Events, and the small API client
 * they share. `main.ts` needs only {@link startKubeStatusSinks}, {@link resolveKubeConnection}
 * and, for the uninstall hook, {@link removeKubeStatus}.
 */
export { startKubeStatusSinks, resolveKubeConnection, createKubeClient } from './sinks.js';
export type { KubeStatusSinks, KubeStatusSinksOptions } from './sinks.js';
export { removeKubeStatus } from './cleanup.js';
export type { RemoveKubeStatusOptions, RemoveKubeStatusResult } from './cleanup.js';
export { KubeClient, createHttpsTransport, PATCH_CONTENT_TYPES } from './client.js';
export type {
  KubeTransport,
  KubeHttpRequest,
  KubeHttpResponse,
  HttpMethod,
  PatchType,
  KubeClientOptions,
  ListOptions,
  PatchOptions,
  DeleteOptions,
  HttpsTransportOptions,
} from './client.js';
export { loadKubeconfig, inClusterConfig, SERVICE_ACCOUNT_DIR, EXEC_API_VERSIONS } from './kubeconfig.js';
export type {
  KubeConnection,
  LoadKubeconfigOptions,
  InClusterOptions,
  ReadTextFile,
  ExecCredentialConfig,
  ExecApiVersion,
  ExecClusterInfo,
} from './kubeconfig.js';
export {
  createCredentialSource,
  runExecCredentialPlugin,
  parseExecCredential,
  execInfo,
} from './credentials.js';
export type {
  Credentials,
  CredentialSource,
  CredentialSourceOptions,
  ExecCredentialStatus,
  ExecRunner,
} from './credentials.js';
export { KubeApiError, KubeTransportError, KubeConfigError, isKubeApiError } from './errors.js';
export { NodeConditionManager, removeNodeConditions } from './node-conditions.js';
export type { NodeConditionManagerOptions } from './node-conditions.js';
export {
  summarizeConditions,
  isSettled,
  READY_CONDITION,
  DEGRADED_CONDITION,
  OWNED_CONDITION_TYPES,
} from './condition-summary.js';
export type { ConditionContent, SummaryOptions } from './condition-summary.js';
export { PortPlugSyncer } from './port-plug-syncer.js';
export type { PortPlugSyncerOptions, PortPlugSyncStats } from './port-plug-syncer.js';
export {
  PORT_PLUG_GROUP,
  PORT_PLUG_VERSION,
  PORT_PLUG_KIND,
  PORT_PLUG_PLURAL,
  NODE_LABEL,
  portPlugName,
  nodeLabelValue,
} from './port-plug-resource.js';
export type { PortPlugObject, PortPlugSpec, PortPlugStatus } from './port-plug-resource.js';
export { EventRecorder, DEFAULT_EVENT_NAMESPACE } from './events.js';
export type { EventRecorderOptions, RecordedEvent } from './events.js';
export { TokenBucket, backoffDelayMs } from './pacing.js';
export type { BackoffOptions, TokenBucketOptions } from './pacing.js';
export { systemClock, silentLogger } from './runtime.js';
export { silentObserver, KUBE_REQUEST_KINDS, KUBE_REQUEST_OUTCOMES } from './observer.js';
export type { KubeSinkObserver, KubeRequestKind, KubeRequestOutcome } from './observer.js';
export type { Clock, KubeLogger } from './runtime.js';
// Kubernetes object shapes come from the types-only `kubernetes-types` package (ADR 0070).
export type { Node as NodeObject, NodeCondition } from 'kubernetes-types/core/v1.js';
export type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
