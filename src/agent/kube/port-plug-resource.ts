/**
 * The PortPlug custom resource (ADR 0071): one cluster-scoped object per port the agent wants,
 * owns or is in conflict over, named `<node>.<logical-port>` and owned by the Node, so
 * `kubectl get portplugs -o wide` reads like `ovn-plug-agent status` across the cluster and
 * objects disappear with their Node.
 */
import { createHash } from 'node:crypto';
import type { PortStatus } from '../status/index.js';
import type { PortState } from '../../plug/index.js';
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import { kubeTime } from './runtime.js';

export const PORT_PLUG_GROUP = 'ovn-plug-agent.io';
export const PORT_PLUG_VERSION = 'v1alpha1';
export const PORT_PLUG_API_VERSION = `${PORT_PLUG_GROUP}/${PORT_PLUG_VERSION}`;
export const PORT_PLUG_KIND = 'PortPlug';
export const PORT_PLUG_PLURAL = 'portplugs';
/** Label carrying the node (its name, or a hash when the name is not a valid label value). */
export const NODE_LABEL = `${PORT_PLUG_GROUP}/node`;
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'ovn-plug-agent';

export const PORT_PLUGS_PATH = `/apis/${PORT_PLUG_GROUP}/${PORT_PLUG_VERSION}/${PORT_PLUG_PLURAL}`;

export function portPlugPath(name: string): string {
  return `${PORT_PLUGS_PATH}/${encodeURIComponent(name)}`;
}

/** `PortPlug.spec`: identity only; the agent never reads it back as desired state. */
export interface PortPlugSpec {
  readonly nodeName: string;
  readonly logicalPort: string;
}

/** `PortPlug.status`, mirroring {@link PortStatus} with Kubernetes time formats. */
export interface PortPlugStatus {
  readonly state: PortState;
  readonly reason: string;
  readonly message: string;
  readonly provider: string;
  readonly interfaceName?: string;
  readonly ofport?: number;
  /** {@link PortStatus.warnings} joined by `; ` (absent when there are none). */
  readonly warnings?: string;
  readonly firstSeenTime: string;
  /** When `state` last changed. */
  readonly lastTransitionTime: string;
  readonly plugLatencySeconds?: number;
  readonly bindLatencySeconds?: number;
}

export interface PortPlugObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec?: PortPlugSpec;
  readonly status?: PortPlugStatus;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** A label value standing for `nodeName`: the name itself when valid, else a stable hash. */
export function nodeLabelValue(nodeName: string): string {
  return LABEL_VALUE.test(nodeName) ? nodeName : `h-${shortHash(nodeName)}`;
}

const MAX_NAME = 253;

/**
 * The object name for a port: `<node>.<logical-port>` as a DNS-1123 subdomain. Characters a
 * name cannot hold become `-`; whenever the port name had to be altered (including lower-casing)
 * or the result had to be shortened, a hash of the original port name is appended so that two
 * different ports never share an object.
 */
export function portPlugName(nodeName: string, logicalPort: string): string {
  if (logicalPort === '') throw new TypeError('portPlugName: the logical port name is empty');
  const cleaned = logicalPort
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/(^|\.)-+|-+(\.|$)/g, '$1$2')
    .replace(/^\.+|\.+$/g, '');
  const exact = `${nodeName}.${cleaned}`;
  if (cleaned === logicalPort && cleaned !== '' && exact.length <= MAX_NAME) return exact;
  const suffix = `-${shortHash(logicalPort)}`;
  let body = cleaned === '' ? 'port' : cleaned;
  const room = MAX_NAME - nodeName.length - 1 - suffix.length;
  if (room < 1)
    return `${nodeName.slice(0, MAX_NAME - suffix.length - 6).replace(/[.-]+$/, '')}.port${suffix}`;
  body = body.slice(0, room).replace(/[.-]+$/, '');
  return `${nodeName}.${body === '' ? 'p' : body}${suffix}`;
}

/** The status a port's object should carry. */
export function portPlugStatus(port: PortStatus): PortPlugStatus {
  return {
    state: port.state,
    reason: port.reason,
    message: port.message,
    provider: port.provider,
    ...(port.interfaceName !== undefined && { interfaceName: port.interfaceName }),
    ...(port.ofport !== undefined && { ofport: port.ofport }),
    ...(port.warnings !== undefined && port.warnings.length > 0 && { warnings: port.warnings.join('; ') }),
    firstSeenTime: kubeTime(port.firstSeenMs),
    lastTransitionTime: kubeTime(port.sinceMs),
    ...(port.plugLatencyMs !== undefined && { plugLatencySeconds: Math.round(port.plugLatencyMs) / 1000 }),
    ...(port.bindLatencyMs !== undefined && { bindLatencySeconds: Math.round(port.bindLatencyMs) / 1000 }),
  };
}

const STATUS_KEYS: readonly (keyof PortPlugStatus)[] = [
  'state',
  'reason',
  'message',
  'provider',
  'interfaceName',
  'ofport',
  'warnings',
  'firstSeenTime',
  'lastTransitionTime',
  'plugLatencySeconds',
  'bindLatencySeconds',
];

export function sameStatus(a: PortPlugStatus | undefined, b: PortPlugStatus | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return STATUS_KEYS.every((key) => a[key] === b[key]);
}

/**
 * A status merge patch turning `current` into `next`: changed keys set, vanished optional keys
 * set to null (merge-patch deletion).
 */
export function statusPatch(
  current: PortPlugStatus | undefined,
  next: PortPlugStatus,
): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const key of STATUS_KEYS) {
    const value = next[key];
    if (value !== undefined) {
      if (current?.[key] !== value) patch[key] = value;
    } else if (current?.[key] !== undefined) {
      patch[key] = null;
    }
  }
  return { status: patch };
}

export interface NewPortPlugInit {
  readonly nodeName: string;
  readonly nodeUid: string;
  readonly logicalPort: string;
}

/** The object to POST for a new port (status follows through the status subresource). */
export function newPortPlug(init: NewPortPlugInit): PortPlugObject {
  const owner: OwnerReference = { apiVersion: 'v1', kind: 'Node', name: init.nodeName, uid: init.nodeUid };
  return {
    apiVersion: PORT_PLUG_API_VERSION,
    kind: PORT_PLUG_KIND,
    metadata: {
      name: portPlugName(init.nodeName, init.logicalPort),
      labels: { [NODE_LABEL]: nodeLabelValue(init.nodeName), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      ownerReferences: [owner],
    },
    spec: { nodeName: init.nodeName, logicalPort: init.logicalPort },
  };
}
