/**
 * Builders of synthetic {@link AgentStatus} snapshots for the sinks' tests (unit and
 * integration): a healthy, synced agent unless told otherwise.
 */
import type { AgentStatus, DbStatus, PortStatus } from '../../status/index.js';
import type { PortState } from '../../../plug/index.js';

const SYNCED: DbStatus = { state: 'monitoring', synced: true, reconnects: 0 };

export interface PortInit {
  readonly state?: PortState;
  readonly reason?: string;
  readonly message?: string;
  readonly provider?: string;
  readonly interfaceName?: string;
  readonly ofport?: number;
  readonly firstSeenMs?: number;
  readonly sinceMs?: number;
}

const REASONS: Record<PortState, string> = {
  Pending: 'RepresentorNotFound',
  Plugging: 'InTransaction',
  Plugged: 'WaitingForOfport',
  Bound: 'Installed',
  Down: 'LinkDown',
  Failed: 'InterfaceError',
  Conflict: 'ForeignInterface',
  Unplugging: 'NotWanted',
};

export function port(logicalPort: string, init: PortInit = {}): PortStatus {
  const state = init.state ?? 'Bound';
  return {
    logicalPort,
    state,
    reason: init.reason ?? REASONS[state],
    message: init.message ?? `${logicalPort} is ${state}`,
    provider: init.provider ?? 'dummy',
    ...(init.interfaceName !== undefined
      ? { interfaceName: init.interfaceName }
      : state === 'Bound' || state === 'Plugged'
        ? { interfaceName: logicalPort.slice(0, 15) }
        : {}),
    ...(init.ofport !== undefined ? { ofport: init.ofport } : state === 'Bound' ? { ofport: 1 } : {}),
    firstSeenMs: init.firstSeenMs ?? 1_700_000_000_000,
    sinceMs: init.sinceMs ?? 1_700_000_001_000,
  };
}

export interface SnapshotInit {
  readonly ports?: readonly PortStatus[];
  readonly sb?: Partial<DbStatus>;
  readonly ovs?: Partial<DbStatus>;
  readonly providers?: AgentStatus['providers'];
  readonly heldRemovals?: AgentStatus['heldRemovals'];
  readonly nodeName?: string;
}

export function snapshot(init: SnapshotInit = {}): AgentStatus {
  return {
    chassis: 'chassis-1',
    nodeName: init.nodeName ?? 'node-1',
    integrationBridge: 'br-int',
    sb: { ...SYNCED, remote: 'tcp:127.0.0.1:6642', ...init.sb },
    ovs: { ...SYNCED, remote: 'unix:/run/openvswitch/db.sock', ...init.ovs },
    providers: init.providers ?? [{ type: 'dummy', available: true }],
    ports: init.ports ?? [],
    ...(init.heldRemovals !== undefined && { heldRemovals: init.heldRemovals }),
    generatedAtMs: Date.now(),
  };
}

/** A snapshot of an agent that has just started: connected, nothing synced, no ports known. */
export function startingSnapshot(): AgentStatus {
  return snapshot({ sb: { state: 'syncing', synced: false }, ovs: { state: 'syncing', synced: false } });
}
