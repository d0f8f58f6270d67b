/**
 * The status model's read side: what every status sink (metrics, `/status`, CLI, node
 * conditions, per-port custom resources, events, logs) consumes. Sinks never reach into the
 * reconciler; they receive these immutable snapshots.
 */
import type { PortState } from '../../plug/index.js';

/**
 * Reason of a port whose interface ovn-controller's built-in plugging created (DESIGN §3.5a):
 * `Conflict` in plug mode, its observed state in observe mode. Never degrades the node condition.
 */
export const PLUGGED_BY_OVN_CONTROLLER = 'PluggedByOvnController';

/** Whether ovn-controller's built-in plugging, not the agent, plugged this port (DESIGN §3.5). */
export function isPluggedByOvnController(port: Pick<PortStatus, 'pluggedByOvnController'>): boolean {
  return port.pluggedByOvnController === true;
}

/** One logical port the agent wants, owns, or is in conflict over, on this chassis. */
export interface PortStatus {
  /** `Port_Binding.logical_port`. */
  readonly logicalPort: string;
  readonly state: PortState;
  /** CamelCase machine reason, e.g. `RepresentorNotFound`, `InterfaceError`, `ForeignInterface`. */
  readonly reason: string;
  /** Human message: names the key and quotes the bad value where there is one. */
  readonly message: string;
  /** Provider type (`options:vif-plug-type`). */
  readonly provider: string;
  /** Interface name on the integration bridge, when known. */
  readonly interfaceName?: string;
  readonly ofport?: number;
  /**
   * Problems on a port that otherwise works, as `<Code>: <message>` (e.g. a port-function
   * attribute the device does not support); absent when there are none. Never a state.
   */
  readonly warnings?: readonly string[];
  /** When the agent first saw the port wanted (ms since epoch, injected clock). */
  readonly firstSeenMs: number;
  /** When `state` last changed. */
  readonly sinceMs: number;
  /** Time from first sighting to `Plugged` / `Bound`, once reached. */
  readonly plugLatencyMs?: number;
  readonly bindLatencyMs?: number;
  /**
   * The interface was made by ovn-controller's own plugging (plug mode: the `Conflict` naming
   * it; observe mode: every port it plugs). Such a port never degrades the node or pages
   * (DESIGN §3.5, `status/degrading.ts`).
   */
  readonly pluggedByOvnController?: boolean;
}

export type DbConnectionState = 'connecting' | 'syncing' | 'monitoring' | 'backoff' | 'closed';

export interface DbStatus {
  readonly state: DbConnectionState;
  readonly remote?: string;
  /** Initial sync done with the final monitor conditions. */
  readonly synced: boolean;
  readonly reconnects: number;
  /**
   * Connected, but has not answered the agent's `echo` since then (ms since epoch): a stalled
   * server, e.g. a SIGSTOPped ovsdb-server. Fails readiness, never liveness (ADR 0106).
   */
  readonly unansweredSinceMs?: number;
}

export interface ProviderStatus {
  readonly type: string;
  readonly available: boolean;
  /** Why it is unavailable, or the last `run()` error. */
  readonly reason?: string;
}

/** A whole-agent snapshot, the body of `GET /status`. */
export interface AgentStatus {
  readonly chassis?: string;
  readonly nodeName?: string;
  readonly integrationBridge: string;
  readonly sb: DbStatus;
  readonly ovs: DbStatus;
  readonly providers: readonly ProviderStatus[];
  readonly ports: readonly PortStatus[];
  /** Removals held by the removal guard (DESIGN §3.4), if any: how many, and the last grace's end. */
  readonly heldRemovals?: { readonly count: number; readonly untilMs: number };
  /**
   * When this snapshot was built: the last reconcile round, or a later change of a database
   * connection or provider. Not when `/status` answered: see {@link StatusAnswer.answeredAtMs}.
   */
  readonly generatedAtMs: number;
}

/** The body of `GET /status`: the snapshot and when the agent answered (its own clock). */
export interface StatusAnswer extends AgentStatus {
  /** When the agent answered this request; absent from older agents. */
  readonly answeredAtMs?: number;
}

/** A port whose interface a provider's answer named, for `ovn-plug-agent providers`. */
export interface HeldPort {
  readonly logicalPort: string;
  readonly interfaceName: string;
  readonly state: PortState;
}

/** One plug target in the `GET /providers` body, with the logical port using it, if any. */
export interface InventoryEntry {
  readonly id: string;
  readonly name?: string;
  readonly details: Readonly<Record<string, string | number | boolean>>;
  /** The logical port whose interface has this name on the integration bridge. */
  readonly logicalPort?: string;
}

/** What one provider reports for `ovn-plug-agent providers` (ovn-org/ovn#169). */
export interface ProviderInventoryReport {
  readonly type: string;
  readonly available: boolean;
  readonly reason?: string;
  /** Absent when the provider has no `inventory()`. */
  readonly items?: readonly InventoryEntry[];
  readonly notes?: readonly string[];
  /** `inventory()` threw: its message. */
  readonly error?: string;
  /** The ports of this provider's type that have an interface on the integration bridge. */
  readonly ports?: readonly HeldPort[];
}
