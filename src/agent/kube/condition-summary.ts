/**
 * The node's summary conditions as a pure function of one {@link AgentStatus} snapshot.
 *
 * Two condition types, bounded in number whatever the port count (per-port detail lives in the
 * PortPlug objects; Node writes fan out to every node watcher):
 * - `OvnPlugReady` — normal-true: both databases connected and synced, every wanted port Bound.
 * - `OvnPlugDegraded` — abnormal-true, as node-problem-detector's problem conditions: ports
 *   Pending/Failed/Conflict, a provider unavailable, or removals held back by the removal guard.
 * Reasons are one CamelCase word; messages count and name (the first few) ports.
 */
import {
  isPluggedByOvnController,
  type AgentStatus,
  type DbStatus,
  type PortStatus,
} from '../status/index.js';
import type { PortState } from '../../plug/index.js';

export const READY_CONDITION = 'OvnPlugReady';
export const DEGRADED_CONDITION = 'OvnPlugDegraded';
/** Every condition type this agent owns; types with this prefix that are not listed are stale. */
export const OWNED_CONDITION_TYPES: readonly string[] = [READY_CONDITION, DEGRADED_CONDITION];
export const OWNED_CONDITION_PREFIX = 'OvnPlug';

/** A condition without its timestamps: what a change is measured on. */
export interface ConditionContent {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

export interface SummaryOptions {
  /** How many port names a message lists per state before "and N more"; default 5. */
  readonly maxNames?: number;
}

/** Both databases have delivered their initial contents: the snapshot describes the node. */
export function isSettled(status: AgentStatus): boolean {
  return status.sb.synced && status.ovs.synced;
}

function nameList(ports: readonly PortStatus[], maxNames: number): string {
  const names = ports.slice(0, maxNames).map((port) => port.logicalPort);
  const more = ports.length - names.length;
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

function byState(ports: readonly PortStatus[]): Map<PortState, PortStatus[]> {
  const groups = new Map<PortState, PortStatus[]>();
  for (const port of ports) {
    const group = groups.get(port.state);
    if (group === undefined) groups.set(port.state, [port]);
    else group.push(port);
  }
  for (const group of groups.values()) group.sort((a, b) => a.logicalPort.localeCompare(b.logicalPort));
  return groups;
}

/** `chassis`: for the SB, whose synced view needs this chassis' Chassis row (DESIGN §3.5a). */
function dbProblem(
  label: string,
  reasonPrefix: string,
  db: DbStatus,
  chassis?: string,
): ConditionContent | undefined {
  const where = db.remote === undefined ? label : `${label} ${db.remote}`;
  if (db.state !== 'monitoring') {
    return {
      type: READY_CONDITION,
      status: 'False',
      reason: `${reasonPrefix}Disconnected`,
      message: `${where} is ${db.state} (${db.reconnects} reconnects so far)`,
    };
  }
  if (!db.synced) {
    return {
      type: READY_CONDITION,
      status: 'False',
      reason: `${reasonPrefix}NotSynced`,
      message:
        chassis === undefined
          ? `${where} is connected but its initial contents have not arrived yet`
          : `${where} is connected but the port bindings of chassis ${chassis} have not arrived yet (is there a Chassis row named ${chassis}? ovn-controller creates it)`,
    };
  }
  return undefined;
}

function readyCondition(status: AgentStatus, maxNames: number): ConditionContent {
  const db =
    dbProblem('Southbound database', 'Southbound', status.sb, status.chassis) ??
    dbProblem('Open vSwitch database', 'OvsDb', status.ovs);
  if (db !== undefined) return db;
  const wanted = status.ports.filter((port) => port.state !== 'Unplugging');
  // Down is Bound with its link down (a stopped VM): informational, not a readiness problem (DESIGN §3.5).
  const unbound = wanted.filter((port) => port.state !== 'Bound' && port.state !== 'Down');
  if (unbound.length === 0) {
    return {
      type: READY_CONDITION,
      status: 'True',
      reason: 'AllPortsBound',
      message:
        wanted.length === 0
          ? 'connected to both databases; no port is requested on this node'
          : `connected to both databases; all ${wanted.length} requested ports are Bound`,
    };
  }
  const parts = [...byState(unbound)].map(
    ([state, ports]) => `${ports.length} ${state} (${nameList(ports, maxNames)})`,
  );
  return {
    type: READY_CONDITION,
    status: 'False',
    reason: 'PortsNotBound',
    message: `${unbound.length} of ${wanted.length} requested ports are not Bound: ${parts.join('; ')}`,
  };
}

const PROBLEM_STATES: readonly { state: PortState; reason: string }[] = [
  { state: 'Conflict', reason: 'PortConflict' },
  { state: 'Failed', reason: 'PortsFailed' },
  { state: 'Pending', reason: 'PortsPending' },
];

function degradedCondition(status: AgentStatus, maxNames: number): ConditionContent {
  // Ports ovn-controller's own plugging made never degrade (DESIGN §3.5): they are its to fix;
  // OvnPlugReady and the PortPlugs still show them.
  const byOvnController = status.ports.filter(isPluggedByOvnController).length;
  const groups = byState(status.ports.filter((port) => !isPluggedByOvnController(port)));
  const reasons: string[] = [];
  const parts: string[] = [];
  for (const { state, reason } of PROBLEM_STATES) {
    const ports = groups.get(state);
    if (ports === undefined) continue;
    reasons.push(reason);
    parts.push(`${ports.length} ${state} (${nameList(ports, maxNames)})`);
  }
  const unavailable = status.providers.filter((provider) => !provider.available);
  if (unavailable.length > 0) {
    reasons.push('ProviderUnavailable');
    for (const provider of unavailable) {
      parts.push(
        `provider ${provider.type} unavailable${provider.reason === undefined ? '' : `: ${provider.reason}`}`,
      );
    }
  }
  if (status.heldRemovals !== undefined) {
    reasons.push('MassRemovalHeld');
    parts.push(
      `removal of ${status.heldRemovals.count} ports held until ${new Date(status.heldRemovals.untilMs).toISOString()}`,
    );
  }
  const [reason] = reasons;
  if (reason === undefined) {
    return {
      type: DEGRADED_CONDITION,
      status: 'False',
      reason: 'NoPortProblems',
      message:
        'no port is Pending, Failed or in Conflict and every provider is available' +
        (byOvnController === 0
          ? ''
          : ` (${byOvnController} ${byOvnController === 1 ? 'port' : 'ports'} plugged by ovn-controller's built-in plugging not counted)`),
    };
  }
  return { type: DEGRADED_CONDITION, status: 'True', reason, message: parts.join('; ') };
}

/** The summary conditions for `status`, in {@link OWNED_CONDITION_TYPES} order. */
export function summarizeConditions(status: AgentStatus, options: SummaryOptions = {}): ConditionContent[] {
  const maxNames = options.maxNames ?? 5;
  return [readyCondition(status, maxNames), degradedCondition(status, maxNames)];
}
